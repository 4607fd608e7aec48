// Names from the file system go to a terminal: a file named `\x1b[2J…` would otherwise clear the screen,
// recolour what follows or rewrite the title when the CLI prints it. Every name in human-readable output and
// every `error:` line passes through here (--json output needs nothing: JSON.stringify escapes C0 controls,
// and a JSON consumer is no terminal).

// C0 controls, DEL and C1 controls (0x9b is a one-byte CSI); bidirectional overrides, embeddings and
// isolates too, which reorder what a reader sees without any escape sequence.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with each control character written as `\xNN` (or `\uNNNN` above U+00FF). */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (ch) => {
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A number to `digits` significant digits (n/a for null). */
export function fmt(v: number | null, digits = 6): string {
  return v === null ? 'n/a' : Number.isFinite(v) ? v.toPrecision(digits) : String(v);
}

export function pct(v: number | null): string {
  return v === null ? 'n/a' : `${(100 * v).toFixed(2)}%`;
}

/** Up to five names, escaped for the terminal, and how many there are beyond. */
export function someNames(names: readonly string[]): string {
  return `${names.slice(0, 5).map(escapeControls).join(', ')}${names.length > 5 ? `, … (${names.length} in all)` : ''}`;
}
