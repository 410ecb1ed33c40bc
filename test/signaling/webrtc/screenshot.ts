/**
 * Takes the README's screenshot of the demo page (docs/voice-demo.png): a voice server on ephemeral ports, two demo
 * pages in one channel (their fake microphones beep, so each sees the other speak), and a native @discordjs/voice
 * client. Run: `npx tsx test/signaling/webrtc/screenshot.ts` (needs `npm run setup:webrtc` and chromium).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { joinClient, newId, startTestGateway } from '../../../testkit/index.ts';
import { launchChromium } from './chromium.ts';
import { joinDemo, requireWebRtcWorker, waitHeard } from './helpers.ts';

const out = fileURLToPath(new URL('../../../docs/voice-demo.png', import.meta.url));
process.env.RESOUND_TEST_DATA_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'resound-shot-'));
await requireWebRtcWorker();
const guild = '100000000000000001';
const gw = await startTestGateway({ SFU_WEBRTC_WORKERS: '1', VOICE_DEMO_GUILD_ID: guild });
const browser = await launchChromium();
const channel = newId();
const native = await joinClient(gw, guild, channel);
const a = await joinDemo(browser, gw, channel);
const b = await joinDemo(browser, gw, channel);
await waitHeard(a.page, b.userId);
await a.page.waitForSelector('#people li.speaking');
await a.page.setViewportSize({ width: 720, height: 520 });
await a.page.screenshot({ path: out });
console.log(`wrote ${out}`);
native.destroy();
await browser.close();
await gw.close();
process.exit(0);
