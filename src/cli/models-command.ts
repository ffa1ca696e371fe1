import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { KomaError } from '../domain/errors.js';
import { downloadFile } from '../diffusion/models/download.js';
import { createTerminalProgress } from '../diffusion/models/progress-bar.js';
import { componentPath, findModel, importOptimumExport, listModels, verifyModel } from '../diffusion/models/registry.js';
import { UsageError } from './usage-error.js';

/** `koma models list | verify <id> | import <optimum-export-dir> [--id ID] | pull <id>`. */
export async function runModelsCommand(argv: string[], config: Config, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const [action, ...rest] = argv;
  const modelsDir = path.resolve(config.render.modelsDir);
  switch (action) {
    case 'list': {
      const models = await listModels(modelsDir);
      if (models.length === 0) out.write(`no models in ${modelsDir}; see models/README.md\n`);
      for (const m of models) {
        out.write(`${m.id.padEnd(24)} ${m.family.padEnd(11)} ${m.example ? 'example (no weights)' : m.installed ? 'installed' : 'incomplete'}\n`);
      }
      return 0;
    }
    case 'verify': {
      if (rest.length !== 1) throw new UsageError('models verify takes a model id');
      const report = await verifyModel(modelsDir, rest[0]!);
      for (const line of report.lines) out.write(`${line}\n`);
      if (!report.ok) throw new KomaError('model', `model "${rest[0]}" failed verification (see above)`);
      return 0;
    }
    case 'import': {
      const idFlag = rest.indexOf('--id');
      const id = idFlag >= 0 ? rest[idFlag + 1] : undefined;
      const dirs = rest.filter((_, i) => i !== idFlag && i !== idFlag + 1);
      if (dirs.length !== 1) throw new UsageError('models import takes one export folder');
      const { manifest, manifestPath } = await importOptimumExport(dirs[0]!, modelsDir, id ? { id } : {});
      out.write(`imported ${manifest.id} (${manifest.family}; ${manifest.capabilities.join(', ')}) → ${manifestPath}\n`);
      return 0;
    }
    case 'pull': {
      if (rest.length !== 1) throw new UsageError('models pull takes a model id');
      const { manifest, manifestPath } = await findModel(modelsDir, rest[0]!);
      const files = Object.entries(manifest.files).filter(([, f]) => f.url);
      if (files.length === 0) throw new KomaError('model', `model "${manifest.id}" lists no download URLs in ${manifestPath}`);
      for (const [relative, file] of files) {
        const dest = componentPath(manifestPath, manifest, relative);
        await mkdir(path.dirname(dest), { recursive: true });
        const bar = createTerminalProgress(process.stderr, relative);
        await downloadFile({ url: file.url!, dest, ...(file.sha256 ? { sha256: file.sha256 } : {}), ...(file.bytes ? { expectedBytes: file.bytes } : {}), onProgress: bar.update });
        bar.finish();
        out.write(`${relative}: ok\n`);
      }
      return 0;
    }
    default:
      throw new UsageError('models takes list, verify <id>, import <dir> or pull <id>');
  }
}
