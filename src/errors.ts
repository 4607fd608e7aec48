// The one error type that crosses module boundaries. Its message is a single line meant for the user:
// it names the file (when known), the shapes and the first offending index, and suggests a fix.
// Everything that shows errors (CLI, panel, hovers) prints `message` and nothing else.

export type LensErrorKind =
  | 'format' // a file or text that cannot be decoded (npy header, zip, JSON, printed tensor)
  | 'dtype' // a dtype we cannot use (complex, object, strings, a value that does not fit)
  | 'shape' // shapes that do not fit together
  | 'value' // an out-of-range value (class index, NaN where not allowed)
  | 'option' // an invalid option (label_smoothing, classDim, reduction, weight length)
  | 'io' // a file that cannot be read or written
  | 'cancelled'; // the user cancelled the computation

export class LensError extends Error {
  override readonly name = 'LensError';
  constructor(
    readonly kind: LensErrorKind,
    message: string,
  ) {
    // One line, always: callers may build messages from data that contains newlines.
    super(message.replace(/\s*[\r\n]+\s*/g, ' ').trim());
  }

  /** Prefixes the message with the source (a file name), keeping kind. */
  withSource(source: string): LensError {
    if (this.message.startsWith(`${source}: `)) return this;
    return new LensError(this.kind, `${source}: ${this.message}`);
  }
}

export function isLensError(e: unknown): e is LensError {
  return e instanceof LensError;
}

/** Formats a shape the way PyTorch prints sizes: [2, 3, 4]. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Converts a flat C-order offset to a multi-index, for error messages that point at an element. */
export function unravelIndex(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d];
    if (size > 0) {
      idx[d] = rest % size;
      rest = Math.floor(rest / size);
    }
  }
  return idx;
}

/**
 * Quotes untrusted text for an error message, cut to a short prefix: a file or payload may hold a 60 KB
 * string where a name is expected, and a one-line message must stay readable.
 */
export function quoteSnippet(text: string, max = 40): string {
  const cut = text.length > max ? text.slice(0, max) + '…' : text;
  return JSON.stringify(cut);
}
