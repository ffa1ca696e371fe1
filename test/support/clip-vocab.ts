/**
 * A small CLIP-shaped vocabulary built from the spec, for tests: ids 0..255
 * are the 256 byte characters in CLIP's order (printable bytes 33–126,
 * 161–172, 174–255 first, keeping their own code points; the other bytes after
 * them as U+0100 onward), 256..511 the same with `</w>`, plus BOS/EOS.
 * So printable byte b has id b−33 (33–126), 94+(b−161) (161–172),
 * 106+(b−174) (174–255), and a one-letter word "a" is "a</w>" = 320.
 */
export const BOS = 49406;
export const EOS = 49407;

const printable = [...Array.from({ length: 94 }, (_, i) => 33 + i), ...Array.from({ length: 12 }, (_, i) => 161 + i), ...Array.from({ length: 82 }, (_, i) => 174 + i)];
const others = Array.from({ length: 256 }, (_, b) => b).filter((b) => !printable.includes(b));
export const BYTE_CHARS: readonly string[] = [...printable.map((b) => String.fromCharCode(b)), ...others.map((_, n) => String.fromCharCode(256 + n))];

/** The byte-level vocabulary with no merges: every character is a token. */
export function byteLevelVocab(): Record<string, number> {
  const vocab: Record<string, number> = {};
  BYTE_CHARS.forEach((c, id) => {
    vocab[c] = id;
    vocab[`${c}</w>`] = 256 + id;
  });
  return { ...vocab, '<|startoftext|>': BOS, '<|endoftext|>': EOS };
}

/** The byte-level vocabulary plus merges that make "hello" one token, id 600. */
export const HELLO_MERGES = ['h e', 'he l', 'hel l', 'hell o</w>'];
export function helloVocab(): Record<string, number> {
  return { ...byteLevelVocab(), he: 512, hel: 513, hell: 514, 'hello</w>': 600 };
}
