export async function main(argv: string[]): Promise<void> {
  process.stdout.write(`overshoot: ${argv.join(" ")}\n`);
}
