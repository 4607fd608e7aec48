// The command line of `eval` and `runs`: positional arguments, boolean switches and flags that take a value
// (`--flag V` or `--flag=V`), each given at most once; anything else is a one-line error through `bad`.

export interface CommandFlags {
  readonly positional: readonly string[];
  /** The switches given (e.g. --json). */
  readonly switches: ReadonlySet<string>;
  readonly get: (flag: string) => string | undefined;
}

export function parseCommandFlags(
  argv: readonly string[], command: string, valued: ReadonlySet<string>, switches: readonly string[], bad: (msg: string) => never,
): CommandFlags | 'help' {
  const positional: string[] = [];
  const values = new Map<string, string>();
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return 'help';
    if (switches.includes(a)) {
      if (seen.has(a)) bad(`${a} given twice`);
      seen.add(a);
      continue;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const flag = eq >= 0 ? a.slice(0, eq) : a;
    if (switches.includes(flag)) bad(`${flag} takes no value`);
    if (!valued.has(flag)) bad(`unknown option ${flag} for ${command}`);
    if (values.has(flag)) bad(`${flag} given twice`);
    if (eq < 0 && i + 1 >= argv.length) bad(`${flag} needs a value`);
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i]!;
    // An empty value (--losses '') would otherwise be taken as no file and the option silently dropped.
    if (value === '') bad(`${flag} needs a value, not an empty string`);
    values.set(flag, value);
  }
  return { positional, switches: seen, get: (f) => values.get(f) };
}
