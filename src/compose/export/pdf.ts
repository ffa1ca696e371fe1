import { PDFDocument, ReadingDirection } from 'pdf-lib';

/**
 * A chapter as one PDF: one page per image at its physical size (points = px /
 * dpi × 72), with title and author, and for manga the viewer preference that
 * turns pages right to left.
 */
export interface PdfPage {
  png: Buffer;
  widthPx: number;
  heightPx: number;
  dpi: number;
}

export interface ChapterMeta {
  title: string;
  author?: string;
  direction: 'rtl' | 'ltr';
  language?: string;
  series?: string;
  number?: number;
}

export async function exportPdf(pages: PdfPage[], meta: ChapterMeta): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  pdf.setTitle(meta.title, { showInWindowTitleBar: true });
  if (meta.author) pdf.setAuthor(meta.author);
  pdf.setCreator('Koma');
  pdf.setProducer('Koma');
  if (meta.language) pdf.setLanguage(meta.language);
  // Fixed dates keep the same chapter byte-identical between runs.
  pdf.setCreationDate(new Date(0));
  pdf.setModificationDate(new Date(0));
  for (const page of pages) {
    const image = await pdf.embedPng(page.png);
    const width = (page.widthPx / page.dpi) * 72;
    const height = (page.heightPx / page.dpi) * 72;
    pdf.addPage([width, height]).drawImage(image, { x: 0, y: 0, width, height });
  }
  if (meta.direction === 'rtl') pdf.catalog.getOrCreateViewerPreferences().setReadingDirection(ReadingDirection.R2L);
  return Buffer.from(await pdf.save());
}
