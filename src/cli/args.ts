// Command-line parsing for the CLI contract in DESIGN.md. Hand-written because option values such as
// `--ignore-index -100` and `--class-dim -1` start with a dash, which node:util parseArgs refuses.
import { LensError } from '../errors';
import { parseCommandFlags } from './commandFlags';
import type { InputKind, LossKind, LossOptions, Reduction } from '../kernel/types';

export interface CliArgs {
  readonly input: string;
  readonly target: string;
  /** A file spec, or an inline list given as a,b,c. */
  readonly weight: string | null;
  readonly posWeight: string | null;
  readonly options: Partial<LossOptions>;
  readonly json: boolean;
  readonly out: string | null;
  readonly topK: number;
  /** --palette: the colour table of an RGB PNG mask (a palette name such as voc, or a classes.json). */
  readonly palette?: string | null;
  /** Every positional file in order (input first, target last): `compare` reads INPUT_B here. */
  readonly files?: readonly string[];
  /** --label-issues: confident learning's likely label errors (docs/label-issues.md). */
  readonly labelIssues?: boolean;
  /** --issues-out FILE.npy: the boolean mask of reported labels, in the target's shape. */
  readonly issuesOut?: string | null;
}

export type ParsedArgs = { readonly kind: 'run'; readonly args: CliArgs } | { readonly kind: 'help' } | { readonly kind: 'version' };

export const USAGE = `usage: cross-entropy-lens INPUT TARGET [options]
       cross-entropy-lens compare INPUT_A INPUT_B TARGET [options]   (B - A; compare --help)
       cross-entropy-lens eval PRED_DIR LABEL_DIR [options]          (a validation set; eval --help)
       cross-entropy-lens runs LABEL_DIR RUN_DIR... [options]        (checkpoints over one set; runs --help)
       cross-entropy-lens merge PART.json... [--json]                (shards of eval or runs --shard I/N)

Computes torch.nn.functional.cross_entropy (or binary_cross_entropy_with_logits, focal loss, torchvision's
sigmoid_focal_loss) exactly as PyTorch does.
INPUT and TARGET are .npy, .npz (file.npz:member) or .json files; TARGET may be a PNG label mask (8-bit
gray, palette index or 16-bit gray; one sample [H, W], paired with input [1, C, H, W] or [C, H, W]).

options:
  --weight FILE|a,b,c          per-class weights (focal: the per-class alpha)
  --ignore-index N             target value to skip (default -100)
  --reduction none|mean|sum    (default mean)
  --label-smoothing F          in [0, 1] (default 0)
  --input-kind logits|probs|log-probs   (default logits)
  --class-dim D                axis of the classes, -1 for channels-last (default 1)
  --loss ce|bce|focal|sigmoid-focal
                               cross-entropy (default), binary cross-entropy with logits, focal loss
                               -alpha[t] (1 - p_t)^gamma log p_t, or torchvision's sigmoid_focal_loss
  --gamma G                    focal, sigmoid-focal: focusing exponent >= 0 (default 2)
  --alpha A                    sigmoid-focal: weight of positives (default 0.25; negative: no weighting)
  --pos-weight FILE|a,b,c      bce only: weight of positive examples
  --top-k K                    number of worst elements listed (default 10)
  --palette voc|classes.json   colours of an RGB PNG mask: the VOC palette, or a JSON file with "colors"
  --json                       print one JSON object
  --out LOSS.npy               write the unreduced loss map as float32 .npy
  --label-issues               likely label errors, as cleanlab finds them (confident learning; class-index
                               targets, cross-entropy): --json adds labelIssues and labelQuality
  --issues-out MASK.npy        with --label-issues: the boolean mask of reported labels (the target's shape)
  -h, --help                   show this help
  --version                    print the version`;

const VALUE_FLAGS = new Set([
  '--weight', '--ignore-index', '--reduction', '--label-smoothing', '--input-kind', '--class-dim', '--loss', '--pos-weight', '--out', '--top-k',
  '--gamma', '--alpha',
  '--palette', '--issues-out',
]);

function bad(msg: string): never {
  throw new LensError('option', `${msg} (see --help)`);
}

function parseInteger(flag: string, v: string): number {
  if (!/^[+-]?\d+$/.test(v.trim())) bad(`${flag} expects an integer, got '${v}'`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) bad(`${flag} value ${v} is too large`);
  return n;
}

/** A number as text; the range is the kernel's to check (resolveOptions), with its own wording. */
function parseNumber(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || Number.isNaN(n)) bad(`${flag} expects a number, got '${v}'`);
  return n;
}

function oneOf<T extends string>(flag: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) bad(`${flag} expects one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
}

/**
 * files: the names of the positional arguments, input first and target last (`compare` passes INPUT_A,
 * INPUT_B, TARGET); the error for a wrong count names them.
 */
export function parseArgs(argv: readonly string[], files: readonly string[] = ['INPUT', 'TARGET']): ParsedArgs {
  const flags = parseCommandFlags(argv, { valued: VALUE_FLAGS, switches: ['--json', '--label-issues'], version: true, bad });
  if (flags === 'help') return { kind: 'help' };
  if (flags === 'version') return { kind: 'version' };
  const { positional } = flags;
  const json = flags.switches.has('--json');
  const labelIssues = flags.switches.has('--label-issues');
  if (positional.length !== files.length) {
    const names = `${files.slice(0, -1).join(', ')} and ${files[files.length - 1]}`;
    bad(positional.length < files.length ? `expected ${names} files, got ${positional.length} file${positional.length === 1 ? '' : 's'}` : `expected ${names}, got ${positional.length} files: ${positional.join(' ')}`);
  }
  const options: { -readonly [K in keyof LossOptions]?: LossOptions[K] } = {};
  const { get } = flags;
  if (get('--ignore-index') !== undefined) options.ignoreIndex = parseInteger('--ignore-index', get('--ignore-index')!);
  if (get('--class-dim') !== undefined) options.classDim = parseInteger('--class-dim', get('--class-dim')!);
  if (get('--reduction') !== undefined) options.reduction = oneOf<Reduction>('--reduction', get('--reduction')!, ['none', 'mean', 'sum']);
  if (get('--input-kind') !== undefined) options.inputKind = oneOf<InputKind>('--input-kind', get('--input-kind')!, ['logits', 'probs', 'log-probs']);
  if (get('--loss') !== undefined) options.loss = oneOf<LossKind>('--loss', get('--loss')!, ['ce', 'bce', 'focal', 'sigmoid-focal']);
  const loss = options.loss ?? 'ce';
  const gammaText = get('--gamma');
  if (gammaText !== undefined) {
    if (loss !== 'focal' && loss !== 'sigmoid-focal') bad('--gamma applies to --loss focal or sigmoid-focal only');
    options.gamma = parseNumber('--gamma', gammaText);
  }
  const alphaText = get('--alpha');
  if (alphaText !== undefined) {
    if (loss === 'focal') bad('--alpha applies to --loss sigmoid-focal only; give focal its per-class alpha with --weight a,b,c');
    if (loss !== 'sigmoid-focal') bad('--alpha applies to --loss sigmoid-focal only');
    options.alpha = parseNumber('--alpha', alphaText);
  }
  const lsText = get('--label-smoothing');
  if (lsText !== undefined) {
    const ls = Number(lsText);
    if (lsText.trim() === '' || Number.isNaN(ls)) bad(`--label-smoothing expects a number in [0, 1], got '${lsText}'`);
    options.labelSmoothing = ls;
  }
  const topKText = get('--top-k');
  const topK = topKText === undefined ? 10 : parseInteger('--top-k', topKText);
  if (topK < 0) bad(`--top-k must be >= 0, got ${topK}`);
  if (get('--pos-weight') !== undefined && (options.loss ?? 'ce') !== 'bce') bad('--pos-weight applies to --loss bce only');
  // binary_cross_entropy_with_logits and sigmoid_focal_loss take no ignore_index: given, it would be dropped.
  if (get('--ignore-index') !== undefined && (loss === 'bce' || loss === 'sigmoid-focal')) bad(`--ignore-index applies to --loss ce and focal only; ${loss} has no ignore_index${loss === 'bce' ? ' (a --weight of 0 leaves elements out of the sum, though not out of the mean\'s count)' : ''}`);
  if (labelIssues && loss !== 'ce') bad(`--label-issues needs class-index labels and cross-entropy; --loss ${loss} has no label to flag`);
  if (get('--issues-out') !== undefined && !labelIssues) bad('--issues-out writes the mask of --label-issues: give both');
  return {
    kind: 'run',
    args: {
      input: positional[0],
      target: positional[positional.length - 1],
      files: positional,
      weight: get('--weight') ?? null,
      posWeight: get('--pos-weight') ?? null,
      options,
      json,
      out: get('--out') ?? null,
      topK,
      palette: get('--palette') ?? null,
      labelIssues,
      issuesOut: get('--issues-out') ?? null,
    },
  };
}

/** Parses `a,b,c` (or a single number) as an inline weight list; null when the text is not such a list. */
export function parseInlineList(text: string): number[] | null {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) return null;
  const nums = parts.map((p) => (/^(nan|[+-]?inf(inity)?)$/i.test(p) ? Number(p.replace(/^([+-]?)inf(inity)?$/i, '$1Infinity').replace(/^nan$/i, 'NaN')) : Number(p)));
  if (nums.some((n, i) => Number.isNaN(n) && !/^nan$/i.test(parts[i]))) return null;
  return nums;
}
