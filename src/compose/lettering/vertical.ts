/**
 * Tategaki: vertical Japanese. Canvas has no vertical text, so glyphs are set
 * one by one; punctuation and brackets switch to their vertical presentation
 * forms, and the long-vowel mark and wave dash are drawn rotated.
 */
const VERTICAL_FORMS: Record<string, string> = {
  '、': '\ufe11',
  '。': '\ufe12',
  '，': '\ufe10',
  '：': '\ufe13',
  '；': '\ufe14',
  '！': '\ufe15',
  '？': '\ufe16',
  '「': '\ufe41',
  '」': '\ufe42',
  '『': '\ufe43',
  '』': '\ufe44',
  '（': '\ufe35',
  '）': '\ufe36',
  '【': '\ufe3b',
  '】': '\ufe3c',
  '…': '\ufe19',
  '‥': '\ufe30',
};

const ROTATED = new Set(['ー', '～', '〜', '-', '—', '―']);

export interface VerticalGlyph {
  text: string;
  rotate: boolean;
}

export function verticalGlyphs(text: string): VerticalGlyph[] {
  return [...text].map((ch) => ({ text: VERTICAL_FORMS[ch] ?? ch, rotate: ROTATED.has(ch) }));
}

export function usesVerticalText(language: string, direction: 'rtl' | 'ltr', text: string, isJapanese: (t: string) => boolean): boolean {
  return language.toLowerCase().startsWith('ja') && direction === 'rtl' && isJapanese(text);
}
