// `merge` of runs parts: each run's sums merge as `eval` parts do (bit-identical to one run over the whole
// folder), and the loss figures are computed from the parts' losses files read in the whole run's stem
// order, so the merged report is byte for byte the report of one unsharded `runs`. Node (losses files).
import { compareStems } from '../pairing';
import { mergeParts } from '../merge';
import { lossFigures } from './figures';
import { closeLossFiles, openLossFile, PartLosses } from './lossFiles';
import { checkRunsPartsAgree, type CheckedRunsPart } from './part';
import { runsReport, type RunsReport } from './report';

export function mergeRunsParts(parts: readonly CheckedRunsPart[], files: readonly string[]): RunsReport {
  checkRunsPartsAgree(parts, files);
  const first = parts[0].sums;
  const R = first.names.length;
  const reports = Array.from({ length: R }, (_, r) => mergeParts(parts.map((p) => p.sums.runs[r]), files, parts.map((p) => `${p.prefix}runs[${r}].`)).report);
  // The whole run's images in stem order, each with its part and its block's offset in that part's file.
  const images: Array<{ name: string; pixels: number; part: number; offset: number }> = [];
  const expectBytes = parts.map((p, k) => {
    let at = 0;
    for (const im of p.sums.runs[0].images) {
      images.push({ name: im.name, pixels: im.pixels, part: k, offset: at });
      at += 4 * R * im.pixels;
    }
    return at;
  });
  images.sort((a, b) => compareStems(a.name, b.name));
  const opened: Array<{ fd: number; path: string }> = [];
  let src: PartLosses | null = null;
  try {
    parts.forEach((p, k) => opened.push(openLossFile(p.sums.losses, files[k], expectBytes[k])));
    src = new PartLosses(R, images.map((im) => im.pixels), opened, images.map((im) => im.part), images.map((im) => im.offset));
    const figures = lossFigures(src);
    return runsReport(first.names, reports, figures, src.pixels, first.unmatched, first.unreadable ?? []);
  } finally {
    if (src !== null) src.close();
    else closeLossFiles(opened);
  }
}
