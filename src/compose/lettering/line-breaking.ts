import { loadDefaultJapaneseParser } from 'budoux';
import LineBreaker from 'linebreak';

/**
 * Where a line may break. Latin text follows UAX #14 (the `linebreak` package).
 * Japanese breaks at phrase boundaries (BudouX), and kinsoku rules move a
 * boundary where needed: no line starts with closing brackets, small kana, the
 * long-vowel mark or sentence punctuation, and no line ends with an opening bracket.
 * A phrase too long for any line falls back to breaks between characters.
 */
const NO_LINE_START = new Set([...'、。，．・：；？！ー～…‥）」』】〕〉》’”ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々ゝゞヽヾ!?,.)]}']);
const NO_LINE_END = new Set([...'（「『【〔〈《‘“([{']);

const CJK = /[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]/u;

export function isJapaneseText(text: string): boolean {
  return CJK.test(text);
}

/** Splits text into unbreakable pieces; each piece carries its trailing space, if any. */
export function breakPieces(text: string): string[] {
  if (isJapaneseText(text)) return japanesePieces(text);
  const pieces: string[] = [];
  const breaker = new LineBreaker(text);
  let last = 0;
  for (let brk = breaker.nextBreak(); brk; brk = breaker.nextBreak()) {
    pieces.push(text.slice(last, brk.position));
    last = brk.position;
  }
  if (last < text.length) pieces.push(text.slice(last));
  return pieces.filter((p) => p !== '');
}

let budoux: ReturnType<typeof loadDefaultJapaneseParser> | undefined;

function japanesePieces(text: string): string[] {
  budoux ??= loadDefaultJapaneseParser();
  const phrases: string[] = [];
  for (const phrase of budoux.parse(text)) {
    const previous = phrases.at(-1);
    // Kinsoku: a phrase may not start with a closing mark, nor follow an opening one.
    if (previous !== undefined && (NO_LINE_START.has([...phrase][0]!) || NO_LINE_END.has([...previous].at(-1)!))) {
      phrases[phrases.length - 1] = previous + phrase;
    } else {
      phrases.push(phrase);
    }
  }
  return phrases;
}

/** Breaks between characters under kinsoku: for phrases longer than a line. */
export function japaneseCharacterPieces(text: string): string[] {
  const chars = [...text];
  const pieces: string[] = [];
  let current = '';
  chars.forEach((ch, i) => {
    current += ch;
    const next = chars[i + 1];
    const latinRun = /[A-Za-z0-9]/.test(ch) && next !== undefined && /[A-Za-z0-9]/.test(next);
    const canBreak = next === undefined || (!NO_LINE_START.has(next) && !NO_LINE_END.has(ch) && !latinRun);
    if (canBreak) {
      pieces.push(current);
      current = '';
    }
  });
  if (current) pieces.push(current);
  return pieces;
}

/** Sentences, for splitting text that is too long for one balloon. */
export function splitSentences(text: string): string[] {
  const parts = text.match(/[^.!?…。！？]+[.!?…。！？]*["'”」』]?\s*/gu) ?? [text];
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}
