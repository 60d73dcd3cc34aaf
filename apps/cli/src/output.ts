/** Writes `value` as indented JSON, with a final newline, to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes lines to stdout, the stream for results. */
export function printLines(lines: readonly string[]): void {
  if (lines.length > 0) {
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}

/** Returns `count` with the singular or plural noun, such as `1 box` or `2 boxes`. */
export function formatCount(count: number, singular: string, plural: string): string {
  return `${count} ${count === 1 ? singular : plural}`;
}

/** Writes one progress or notice line to stderr, so stdout keeps only results. */
export function printNotice(line: string): void {
  process.stderr.write(`${line}\n`);
}
