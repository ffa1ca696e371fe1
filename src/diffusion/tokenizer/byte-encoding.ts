/**
 * GPT-2 style byte-level encoding, which CLIP's BPE works on: every byte maps
 * to a printable character, so any UTF-8 text (emoji, CJK) has a spelling in
 * the vocabulary and nothing is ever unknown.
 */
function buildByteTable(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return table;
}

export const BYTE_TO_CHAR: readonly string[] = buildByteTable();

const encoder = new TextEncoder();

export function byteEncode(text: string): string {
  let out = '';
  for (const byte of encoder.encode(text)) out += BYTE_TO_CHAR[byte];
  return out;
}
