/**
 * Takes the README's screenshot of the demo page (docs/voice-demo.png): a voice server on ephemeral ports, two native
 * @discordjs/voice clients and the demo page in one channel; one native client plays the voice fixture, so the page
 * lists three users and highlights the speaker. Run it the way the test set-up runs clients (the development
 * certificate trusted): `npx tsx test/signaling/webrtc/screenshot.ts` with NODE_EXTRA_CA_CERTS pointing at
 * $RESOUND_TEST_DATA_DIR/tls/dev-cert.pem (needs `npm run setup:webrtc` and chromium).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureOpusFrames, joinClient, newId, play, startTestGateway } from '../../../testkit/index.ts';
import { launchChromium } from './chromium.ts';
import { joinDemo, requireWebRtcWorker } from './helpers.ts';

const out = fileURLToPath(new URL('../../../docs/voice-demo.png', import.meta.url));
process.env.RESOUND_TEST_DATA_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'resound-shot-'));
await requireWebRtcWorker();
const guild = '100000000000000001';
const gw = await startTestGateway({ SFU_WEBRTC_WORKERS: '1', VOICE_DEMO_GUILD_ID: guild });
const browser = await launchChromium();
const channel = newId();
const speaker = await joinClient(gw, guild, channel);
const listener = await joinClient(gw, guild, channel);
const demo = await joinDemo(browser, gw, channel);
await demo.page.setViewportSize({ width: 720, height: 470 });
const { frames } = fixtureOpusFrames();
const playing = play(speaker, [...frames, ...frames, ...frames]);
await demo.page.waitForSelector('#people li.speaking', { timeout: 10_000 });
await demo.page.screenshot({ path: out });
console.log(`wrote ${out}`);
await playing;
speaker.destroy();
listener.destroy();
await browser.close();
await gw.close();
process.exit(0);
