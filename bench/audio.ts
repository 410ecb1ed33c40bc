/** `npm run bench -- audio [--quick] [--path sfu|memory] [--out DIR]`: the audio quality benchmark (bench/audio/). */
import { audioBench } from './audio/index.ts';

await audioBench(process.argv.slice(2));
