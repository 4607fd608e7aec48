// The dotted name a debug hover asks the debuggee for: the hovered word and the attribute chain before it on
// its line (logits, outputs.logits, self.model.out). Pure, and linear in the chain's own length: the chain
// is found by walking back from the word, where a regex anchored at the line's end backtracked from every
// position of a long identifier run before it (a hex string: seconds per hover on the host thread).

export interface DottedName {
  /** The names from the root to the hovered word. */
  readonly parts: readonly string[];
  /** Where the chain starts on the line (the root's first character). */
  readonly start: number;
}

const KEYWORDS = new Set(['def', 'class', 'import', 'from', 'return', 'lambda', 'if', 'else', 'for', 'while', 'in', 'not', 'and', 'or', 'is', 'None', 'True', 'False']);

function isIdentifierChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 12 || c === 11 || c === 13 || c === 10;
}

/**
 * The name chain ending with the word at [wordStart, wordEnd) of `line`, or null where it is not a plain
 * name's attribute (a call's result, a subscript) or a part is a Python keyword.
 */
export function dottedNameIn(line: string, wordStart: number, wordEnd: number): DottedName | null {
  // From the word back to the root (reversed at the end).
  const parts = [line.slice(wordStart, wordEnd)];
  let start = wordStart;
  // Each step takes `name.` before the chain: a name starts with a letter or an underscore, so a run that
  // starts with digits contributes its part after them and ends the chain.
  while (start > 0 && line.charCodeAt(start - 1) === 46) {
    let q = start - 1;
    while (q > 0 && isIdentifierChar(line.charCodeAt(q - 1))) q--;
    while (q < start - 1 && isDigit(line.charCodeAt(q))) q++;
    if (q === start - 1) break;
    parts.push(line.slice(q, start - 1));
    start = q;
    if (q > 0 && isIdentifierChar(line.charCodeAt(q - 1))) break;
  }
  // Not an attribute of something that is not a plain name: a `)` or `]` (or a `.`) before the chain, spaces
  // aside.
  let b = start;
  while (b > 0 && isSpace(line.charCodeAt(b - 1))) b--;
  if (start > 0 && b > 0) {
    const c = line.charCodeAt(b - 1);
    if (c === 41 || c === 93 || c === 46) return null;
  }
  if (parts.some((p) => KEYWORDS.has(p))) return null;
  return { parts: parts.reverse(), start };
}
