// The CLI's command lines (the loss command, compare, eval and runs): positional arguments, boolean
// switches and flags that take a value (`--flag V` or `--flag=V`), each given at most once, and `--`
// before positional arguments that start with a dash; anything else is a one-line error through `bad`.

export interface CommandFlags {
  readonly positional: readonly string[];
  /** The switches given (e.g. --json). */
  readonly switches: ReadonlySet<string>;
  readonly get: (flag: string) => string | undefined;
}

export interface CommandSyntax {
  /** Named in an unknown option's message (`unknown option --x for eval`); omitted for the loss command. */
  readonly command?: string;
  readonly valued: ReadonlySet<string>;
  readonly switches: readonly string[];
  /** --version is answered (the loss command's); elsewhere it is an unknown option. */
  readonly version?: boolean;
  readonly bad: (msg: string) => never;
}

/** A dash-led argument that is an option, not a value: `-5` and `-` are positional. */
function isOption(a: string): boolean {
  return a.startsWith('--') || (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a));
}

export function parseCommandFlags(argv: readonly string[], syntax: CommandSyntax & { readonly version: true }): CommandFlags | 'help' | 'version';
export function parseCommandFlags(argv: readonly string[], syntax: CommandSyntax & { readonly version?: false }): CommandFlags | 'help';
export function parseCommandFlags(argv: readonly string[], syntax: CommandSyntax): CommandFlags | 'help' | 'version' {
  const { valued, switches, bad } = syntax;
  const positional: string[] = [];
  const values = new Map<string, string>();
  const seen = new Set<string>();
  let onlyPositional = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (onlyPositional || !isOption(a)) {
      positional.push(a);
      continue;
    }
    if (a === '--') {
      onlyPositional = true;
      continue;
    }
    if (a === '-h' || a === '--help') return 'help';
    if (syntax.version === true && a === '--version') return 'version';
    if (switches.includes(a)) {
      if (seen.has(a)) bad(`${a} given twice`);
      seen.add(a);
      continue;
    }
    const eq = a.indexOf('=');
    const flag = eq >= 0 ? a.slice(0, eq) : a;
    // --json=1 would otherwise be an "unknown option".
    if (switches.includes(flag)) bad(`${flag} takes no value`);
    if (!valued.has(flag)) bad(`unknown option ${flag}${syntax.command !== undefined ? ` for ${syntax.command}` : ''}`);
    if (values.has(flag)) bad(`${flag} given twice`);
    if (eq < 0 && i + 1 >= argv.length) bad(`${flag} needs a value`);
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i]!;
    // An empty value (--out '') would otherwise be taken as no file and the option silently dropped.
    if (value === '') bad(`${flag} needs a value, not an empty string`);
    values.set(flag, value);
  }
  return { positional, switches: seen, get: (f) => values.get(f) };
}
