// Byte sizes: the binary units, parsing "64MiB" and friends, and printing sizes for people.

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Parses "1048576", "64MiB", "64M", "1GiB", "1g", "512k" into bytes; throws on anything else. */
export function parseBytes(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!match) throw new Error(`not a byte size: ${JSON.stringify(text)} (examples: 4096, 64MiB, 1GiB)`);
  const scale = { "": 1, k: KiB, m: MiB, g: GiB, t: 1024 * GiB }[(match[2] ?? "").toLowerCase()] ?? 1;
  const bytes = Math.round(Number(match[1]) * scale);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`not a positive byte size: ${JSON.stringify(text)}`);
  return bytes;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}
