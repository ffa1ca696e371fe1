/**
 * Entry point of the Discord bot (`npm start`). The bot itself is the subject of
 * a later issue; until it lands this says so plainly instead of failing with a
 * missing-module trace. Offline rendering works today: `npm run render`.
 */
process.stderr.write(
  'koma: the Discord bot is not part of this version yet.\n' +
    'Render a story offline instead: npm run render -- examples/late-train --out out/late-train\n',
);
process.exitCode = 1;
