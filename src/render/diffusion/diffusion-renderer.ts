import sharp from 'sharp';
import { describeError, firstLine, KomaError } from '../../domain/errors.js';
import type { DiffusionModel } from '../../diffusion/pipeline/diffusion-model.js';
import { type GenerateOptions, generatePanels, joinPrompt, type PanelSpec } from '../../diffusion/pipeline/generate-panels.js';
import type { SchedulerName } from '../../diffusion/schedulers/index.js';
import type { PanelRenderer, PanelRenderRequest, RenderedPanel, RenderOptions } from '../panel-renderer.js';
import { StoryboardRenderer } from '../storyboard/storyboard-renderer.js';

/**
 * The panel renderer for installed models: the same `PanelRenderer` contract
 * as the storyboard, backed by the diffusion pipeline. Panels are generated at
 * about the model's native area (SD 1.5 at ~512², SDXL at ~1024²) with the
 * panel's aspect in the model's size multiple, then resized to the exact size
 * the page asked for — rendering a 1500-px strip natively would be slow and
 * outside what the model was trained on.
 */
export interface DiffusionRendererOptions {
  steps?: number;
  guidance?: number;
  scheduler?: SchedulerName;
  /** SDEdit from the storyboard panel at this strength (0 or undefined: off). Needs a VAE encoder. */
  storyboardInit?: number;
  /** Panels of the same size rendered in one UNet batch at most. */
  maxBatch?: number;
  previewEvery?: number;
  /** Releases what the model's sessions share (e.g. the inference thread) on close. */
  onClose?: () => Promise<void>;
  /**
   * Whether the model's sessions were lost (its inference thread died), and how
   * to load it again: the render that hit the loss failed with a readable
   * error, the next one reloads instead of failing forever.
   */
  lost?: () => boolean;
  reload?: () => Promise<DiffusionModel>;
}

/** Prompt words for the story's style preset; unknown presets are used as written. */
const STYLE_PROMPTS: Record<string, string> = {
  manga: 'monochrome manga panel, ink lineart, screentone',
  'manga-color': 'colour manga panel, clean lineart, cel shading',
  webtoon: 'webtoon panel, clean lineart, soft colours',
  sketch: 'pencil storyboard sketch, rough lines',
};

export class DiffusionRenderer implements PanelRenderer {
  readonly name: string;
  private readonly storyboard = new StoryboardRenderer({ annotate: false });

  constructor(
    private current: DiffusionModel,
    private readonly options: DiffusionRendererOptions = {},
  ) {
    this.name = `diffusion:${current.id}`;
    if (options.storyboardInit && !current.vae.canEncode) {
      throw new KomaError('config', `storyboard init needs a VAE encoder, and ${current.id} has none (export vae_encoder too, or set render.storyboardInit to 0)`);
    }
  }

  get model(): DiffusionModel {
    return this.current;
  }

  async render(request: PanelRenderRequest, options: RenderOptions = {}): Promise<RenderedPanel> {
    return (await this.renderBatch([request], options))[0]!;
  }

  /** Renders panels, batching those that share a generation size. Results keep the input order. */
  async renderBatch(requests: readonly PanelRenderRequest[], options: RenderOptions = {}): Promise<RenderedPanel[]> {
    const results: RenderedPanel[] = new Array(requests.length);
    const groups = new Map<string, number[]>();
    requests.forEach((request, i) => {
      const size = this.generationSize(request.width, request.height);
      const key = `${size.width}x${size.height}`;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    const maxBatch = this.options.maxBatch ?? 4;
    for (const indices of groups.values()) {
      for (let start = 0; start < indices.length; start += maxBatch) {
        const chunk = indices.slice(start, start + maxBatch);
        const rendered = await this.renderSameSize(chunk.map((i) => requests[i]!), options);
        chunk.forEach((i, k) => (results[i] = rendered[k]!));
      }
    }
    return results;
  }

  /** The model's native area at the panel's aspect, in its size multiple, 64..2048 per edge. */
  generationSize(width: number, height: number): { width: number; height: number } {
    const { defaultSize, sizeMultiple } = this.model.manifest;
    const area = defaultSize.width * defaultSize.height;
    const aspect = width / height;
    const fit = (edge: number) => Math.min(2048, Math.max(64, Math.round(edge / sizeMultiple) * sizeMultiple));
    return { width: fit(Math.sqrt(area * aspect)), height: fit(Math.sqrt(area / aspect)) };
  }

  private async renderSameSize(requests: PanelRenderRequest[], options: RenderOptions): Promise<RenderedPanel[]> {
    if (this.options.lost?.() && this.options.reload) {
      await this.current.release().catch(() => undefined);
      this.current = await this.options.reload();
    }
    const size = this.generationSize(requests[0]!.width, requests[0]!.height);
    const specs: PanelSpec[] = [];
    for (const request of requests) {
      const style = STYLE_PROMPTS[request.stylePreset] ?? request.stylePreset;
      specs.push({
        prompt: joinPrompt(style, request.prompt),
        negativePrompt: request.negativePrompt,
        ...size,
        seed: request.seed,
        characters: request.characters.map((c) => ({ box: c.box, description: c.description, ...(c.referenceImages[0] ? { referenceImage: c.referenceImages[0] } : {}) })),
        dialogBoxes: request.dialogBoxes,
        ...(this.options.storyboardInit ? { initImage: await this.storyboardImage(request, size) } : {}),
      });
    }
    const generate: GenerateOptions = {
      ...(this.options.steps ? { steps: this.options.steps } : {}),
      ...(this.options.guidance !== undefined ? { guidance: this.options.guidance } : {}),
      ...(this.options.scheduler ? { scheduler: this.options.scheduler } : {}),
      ...(this.options.storyboardInit ? { strength: this.options.storyboardInit } : {}),
      ...(this.options.previewEvery ? { previewEvery: this.options.previewEvery } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    };
    let generated;
    try {
      generated = await generatePanels(this.model, specs, generate);
    } catch (error) {
      if (this.options.lost?.()) {
        throw new KomaError('render-failed', `${this.model.id}: ${describeError(error)}; the next render loads the model again`, { cause: error });
      }
      if (error instanceof KomaError) throw error;
      throw new KomaError('render-failed', `${this.model.id} failed to render: ${firstLine(error)}`, { cause: error });
    }
    return Promise.all(
      generated.map(async (panel, k) => {
        const { width, height, seed } = requests[k]!;
        const png = await sharp(panel.rgb, { raw: { width: panel.width, height: panel.height, channels: 3 } })
          .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
          .png()
          .toBuffer();
        return { png, width, height, seed, renderer: this.name };
      }),
    );
  }

  /** The storyboard of the panel (no name tags or notes) as packed RGB at the generation size. */
  private async storyboardImage(request: PanelRenderRequest, size: { width: number; height: number }): Promise<Uint8Array> {
    const board = await this.storyboard.render({ ...request, ...size });
    return sharp(board.png).removeAlpha().raw().toBuffer();
  }

  async close(): Promise<void> {
    await this.model.release();
    await this.options.onClose?.();
  }
}
