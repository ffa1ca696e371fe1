import type { Box } from '../domain/box.js';
import { KomaError } from '../domain/errors.js';
import type { Character, Dialog, Panel, Story } from '../domain/model.js';
import type { Progress, ProgressListener } from '../domain/progress.js';
import { composePage } from '../compose/page.js';
import { layoutPage, panelTargetSize } from '../compose/layout/index.js';
import { digitalGeometry } from '../compose/layout/geometry.js';
import { placeDialogBoxes } from '../compose/lettering/index.js';
import type { LetteringPanelInput, PageGeometry, PageLayoutMetadata } from '../compose/types.js';
import type { PanelRenderer, PanelRenderRequest, RenderedPanel } from './panel-renderer.js';

/**
 * Story → pages, layout first: each page is laid out before its panels are
 * rendered, so every panel is generated at its slot's aspect, and balloons
 * without a box get one before rendering so the renderer leaves room for them.
 */

export interface StoryToRender {
  story: Story;
  characters: Character[];
  panels: Panel[];
  pages: { panelIndices: number[]; layout: string }[];
  emphasis: number[];
  /** Normalised reference images per character id. */
  images: Map<string, Buffer[]>;
}

export interface RenderedStoryPage {
  /** 1-based page number. */
  number: number;
  png: Buffer;
  metadata: PageLayoutMetadata;
}

export interface RenderedStoryPanel {
  index: number;
  page: number;
  seed: number;
  width: number;
  height: number;
  renderer: string;
}

export interface RenderStoryOptions {
  geometry?: PageGeometry;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Called as each page is finished, so callers can write or post it at once. */
  onPage?: (page: RenderedStoryPage) => Promise<void> | void;
}

function aspectOf(panel: Panel, story: Story): number {
  if (panel.size) return panel.size.width / panel.size.height;
  if (panel.aspect) {
    const [w, h] = panel.aspect.split(':').map(Number) as [number, number];
    return w / h;
  }
  return story.renderDefaults.width / story.renderDefaults.height;
}

export async function renderStory(input: StoryToRender, renderer: PanelRenderer, options: RenderStoryOptions = {}) {
  const { story } = input;
  const geometry = options.geometry ?? digitalGeometry();
  const charactersById = new Map(input.characters.map((c) => [c.id, c]));
  const totalPanels = input.pages.reduce((n, p) => n + p.panelIndices.length, 0);
  const renderedPanels: RenderedStoryPanel[] = [];
  const pages: RenderedStoryPage[] = [];
  let done = 0;

  for (const [pageIndex, page] of input.pages.entries()) {
    const panels = page.panelIndices.map((i) => input.panels[i]!);
    const layout = layoutPage({
      panelCount: panels.length,
      aspects: panels.map((p) => aspectOf(p, story)),
      emphasis: page.panelIndices.map((i) => input.emphasis[i] ?? 1),
      template: page.layout === 'auto' ? undefined : page.layout,
      direction: story.readingDirection,
      geometry,
    });

    const letteringPanels: LetteringPanelInput[] = [];
    const requests: PanelRenderRequest[] = [];
    for (const [slotIndex, panel] of panels.entries()) {
      const slot = layout.panels.find((s) => s.index === slotIndex)!;
      const size = panelTargetSize(slot.rect);
      const characters = panel.characters.map((c) => ({ id: c.characterId, box: c.box }));
      const dialogs: Dialog[] = panel.dialogs;
      // Balloons without a box are placed now, so the renderer keeps that area calm.
      const placed: Box[] = placeDialogBoxes(
        { rect: slot.rect, dialogs, characters },
        { direction: story.readingDirection, language: story.language, pageWidthPx: geometry.widthPx },
      );
      const boxedDialogs = dialogs.map((d, k) => ({ ...d, box: d.box ?? placed[k] }));
      letteringPanels.push({ rect: slot.rect, dialogs: boxedDialogs, characters });
      requests.push({
        prompt: panel.prompt,
        negativePrompt: panel.negativePrompt || story.renderDefaults.negativePrompt,
        width: size.width,
        height: size.height,
        seed: panel.seed,
        stylePreset: story.stylePreset,
        characters: panel.characters.map((placement) => {
          const character = charactersById.get(placement.characterId);
          if (!character) {
            throw new KomaError('not-found', `panel ${panel.index + 1}: unknown character "${placement.characterId}"`);
          }
          return {
            id: character.id,
            name: character.name,
            description: character.description,
            box: placement.box,
            referenceImages: input.images.get(character.id) ?? [],
          };
        }),
        dialogBoxes: boxedDialogs.map((d) => d.box).filter((b): b is Box => b !== undefined),
      });
    }

    const results: RenderedPanel[] = [];
    if (renderer.renderBatch) {
      // Same-sized panels of the page share UNet batches.
      if (options.signal?.aborted) throw new KomaError('cancelled', 'rendering was cancelled');
      options.onProgress?.({ step: done, total: totalPanels, label: `rendering page ${pageIndex + 1} (${panels.length} panels)` });
      const label = `rendering page ${pageIndex + 1}`;
      const onProgress = options.onProgress && ((p: Progress) => options.onProgress!({ ...p, step: done, total: totalPanels, label: `${label}: ${p.label ?? ''} ${p.step}/${p.total}` }));
      results.push(...(await renderer.renderBatch(requests, { signal: options.signal, ...(onProgress ? { onProgress } : {}) })));
      done += panels.length;
    } else {
      for (const [k, request] of requests.entries()) {
        if (options.signal?.aborted) throw new KomaError('cancelled', 'rendering was cancelled');
        options.onProgress?.({ step: done, total: totalPanels, label: `rendering panel ${panels[k]!.index + 1} (page ${pageIndex + 1})` });
        results.push(await renderer.render(request, { signal: options.signal }));
        done += 1;
      }
    }
    const images = results.map((r) => r.png);
    results.forEach((result, k) =>
      renderedPanels.push({ index: panels[k]!.index, page: pageIndex + 1, seed: result.seed, width: result.width, height: result.height, renderer: result.renderer }),
    );

    options.onProgress?.({ step: done, total: totalPanels, label: `composing page ${pageIndex + 1}` });
    const composed = await composePage({
      layout,
      panels: images.map((png, i) => ({ png, lettering: letteringPanels[i]! })),
      language: story.language,
    });
    const rendered = { number: pageIndex + 1, png: composed.png, metadata: composed.metadata };
    pages.push(rendered);
    await options.onPage?.(rendered);
  }
  options.onProgress?.({ step: done, total: totalPanels, label: 'done' });
  return { pages, panels: renderedPanels };
}
