import type { ChapterMeta } from './pdf.js';

/**
 * ComicInfo.xml (v2.0), the metadata comic readers (Komga, Kavita, Mihon) read
 * from a CBZ: `Manga=YesAndRightToLeft` makes them turn pages right to left.
 */
export interface ComicInfoPage {
  width: number;
  height: number;
  bytes: number;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function comicInfoXml(meta: ChapterMeta, pages: ComicInfoPage[]): string {
  const field = (name: string, value: string | number | undefined) =>
    value === undefined || value === '' ? '' : `  <${name}>${escapeXml(String(value))}</${name}>\n`;
  const pageRows = pages
    .map(
      (p, i) =>
        `    <Page Image="${i}" Type="${i === 0 ? 'FrontCover' : 'Story'}" ImageWidth="${p.width}" ImageHeight="${p.height}" ImageSize="${p.bytes}"/>\n`,
    )
    .join('');
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n' +
    '<ComicInfo xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">\n' +
    field('Title', meta.title) +
    field('Series', meta.series ?? meta.title) +
    field('Number', meta.number ?? 1) +
    field('Writer', meta.author) +
    field('PageCount', pages.length) +
    field('LanguageISO', meta.language) +
    field('Manga', meta.direction === 'rtl' ? 'YesAndRightToLeft' : 'No') +
    `  <Pages>\n${pageRows}  </Pages>\n` +
    '</ComicInfo>\n'
  );
}
