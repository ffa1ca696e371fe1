import path from 'node:path';
import { firstLine, KomaError } from '../../domain/errors.js';
import type { Manifest } from '../models/manifest.js';
import { componentPath } from '../models/registry.js';
import { type InferenceComponent, type LoadOptions, OnnxComponent } from '../onnx/session.js';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { CharacterEncoder } from './character-encoder.js';
import { type LatentRgbProjection, SD_LATENT_RGB, SDXL_LATENT_RGB } from './latent-rgb.js';
import { PromptEncoder } from './prompt-encoder.js';
import { type NativeLayout, nativeLayoutOf } from './unet-feeds.js';
import { Vae } from './vae.js';

/**
 * One installed model, loaded: its tokenizers, text encoders, UNet, VAE and
 * (DiffSensei) character encoder, each session created once and kept until
 * `release`. What the model can do is read from the loaded UNet, not assumed
 * from the family.
 */

/** Opens one ONNX file; the renderer passes a worker-thread loader so inference never blocks the bot. */
export type ComponentLoader = (file: string, options: LoadOptions) => Promise<InferenceComponent>;

export const inThreadLoader: ComponentLoader = (file, options) => OnnxComponent.load(file, options);

export interface LoadModelOptions extends LoadOptions {
  loader?: ComponentLoader;
}

export class DiffusionModel {
  /** DiffSensei-style layout inputs of the UNet, read once from its input names. */
  readonly nativeLayout: NativeLayout | undefined;

  private constructor(
    readonly manifest: Manifest,
    readonly promptEncoder: PromptEncoder,
    readonly unet: InferenceComponent,
    readonly vae: Vae,
    readonly characterEncoder: CharacterEncoder | undefined,
    private readonly components: InferenceComponent[],
  ) {
    this.nativeLayout = nativeLayoutOf(unet);
  }

  static async load(manifestPath: string, manifest: Manifest, options: LoadModelOptions = {}): Promise<DiffusionModel> {
    const { loader = inThreadLoader, ...loadOptions } = options;
    const file = (relative: string) => componentPath(manifestPath, manifest, relative);
    const c = manifest.components;
    const opened: InferenceComponent[] = [];
    const open = async (relative: string) => {
      const component = await loader(file(relative), loadOptions);
      opened.push(component);
      return component;
    };
    try {
      const tokenizer = await ClipTokenizer.fromFiles(file(c.tokenizer), { padTokenId: manifest.tokenizerPad.first });
      const parts = [{ tokenizer, encoder: await open(c.textEncoder) }];
      if (c.textEncoder2) {
        const tokenizer2 = await ClipTokenizer.fromFiles(file(c.tokenizer2 ?? c.tokenizer), { padTokenId: manifest.tokenizerPad.second ?? manifest.tokenizerPad.first });
        parts.push({ tokenizer: tokenizer2, encoder: await open(c.textEncoder2) });
      }
      // SDXL-class models read the penultimate layer of both encoders; SD 1.x/2.x the last.
      const promptEncoder = new PromptEncoder(parts, parts.length > 1 ? 'penultimate' : 'last');
      const unet = await open(c.unet);
      const vae = new Vae(await open(c.vaeDecoder), c.vaeEncoder ? await open(c.vaeEncoder) : undefined, manifest.vaeScalingFactor);
      const characterEncoder = c.characterEncoder ? new CharacterEncoder(await open(c.characterEncoder)) : undefined;
      return new DiffusionModel(manifest, promptEncoder, unet, vae, characterEncoder, opened);
    } catch (error) {
      await Promise.all(opened.map((component) => component.release()));
      if (error instanceof KomaError) throw error;
      throw new KomaError('model', `cannot load model ${manifest.id} from ${path.dirname(manifestPath)}: ${firstLine(error)}`);
    }
  }

  get id(): string {
    return this.manifest.id;
  }

  /** SDXL-class (SDXL, SDXL-Turbo, DiffSensei): two text encoders, the second with a pooled output. */
  get sdxlClass(): boolean {
    return this.promptEncoder.hasPooled;
  }

  get latentRgb(): LatentRgbProjection {
    return this.manifest.latentRgb ?? (this.sdxlClass ? SDXL_LATENT_RGB : SD_LATENT_RGB);
  }

  /** Whether the UNet accepts more than 77 text tokens (long prompts as several windows). */
  get acceptsLongPrompts(): boolean {
    return typeof this.unet.inputInfo('encoder_hidden_states').shape[1] !== 'number' && this.nativeLayout === undefined;
  }

  async release(): Promise<void> {
    await Promise.all(this.components.map((component) => component.release()));
  }
}
