// The files and folders a CLI command reads, as checkOutputPath takes them: no output may overwrite one.
import { splitMemberSpec } from '../tensor/load';
import type { ReadPath } from '../worker/files/regularFile';

/**
 * [what, spec] pairs to ReadPaths: a member spec (`a.npz:logits`) names its file; absent options (null,
 * undefined) are left out. Specs that are not paths (an inline weight `1,2,3`, a palette name `voc`) match
 * no file and so clash with nothing.
 */
export function readPaths(specs: ReadonlyArray<readonly [string, string | null | undefined]>): ReadPath[] {
  const out: ReadPath[] = [];
  for (const [what, spec] of specs) if (spec) out.push({ what, path: splitMemberSpec(spec).path });
  return out;
}
