// The CLI's JSON (DESIGN.md): NaN and infinities written as the strings "NaN", "Infinity", "-Infinity".

/** JSON with NaN and infinities as the strings "NaN", "Infinity", "-Infinity" (DESIGN.md). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

/** Parses toJson's output back (numbers written as "NaN"/"Infinity" strings become numbers again). */
export function fromJson(text: string): unknown {
  return JSON.parse(text, (key: string, v: unknown) => {
    // An image's name stays a string whatever it reads; unmatched file names always have an extension.
    if (key === 'name') return v;
    return v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v;
  });
}
