import type { Box } from '../domain/box.js';
import type { ProgressListener } from '../domain/progress.js';

/**
 * What every panel renderer receives: plain data, no story ids or Discord.
 * The storyboard renderer and the diffusion renderer implement the same
 * interface, so the queue and the CLI never care which one is installed.
 */
export interface PanelCharacterInput {
  id: string;
  name: string;
  /** Appearance description, e.g. "short black hair, red scarf". */
  description: string;
  box: Box;
  /** Encoded reference images (PNG/JPEG/WebP bytes), already validated. */
  referenceImages: Buffer[];
}

export interface PanelRenderRequest {
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  seed: number;
  stylePreset: string;
  characters: PanelCharacterInput[];
  /** Boxes where balloons will go; renderers keep them calm for lettering. */
  dialogBoxes: Box[];
}

export interface RenderOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export interface RenderedPanel {
  /** PNG bytes of exactly `width`×`height`. */
  png: Buffer;
  width: number;
  height: number;
  seed: number;
  /** Which renderer made it, e.g. `storyboard` or `diffusion:sd15`. */
  renderer: string;
}

export interface PanelRenderer {
  readonly name: string;
  render(request: PanelRenderRequest, options?: RenderOptions): Promise<RenderedPanel>;
  /** Several panels at once (same-sized ones share a batch); results in input order. */
  renderBatch?(requests: readonly PanelRenderRequest[], options?: RenderOptions): Promise<RenderedPanel[]>;
  /** Releases sessions, workers or files the renderer holds. */
  close?(): Promise<void>;
}
