// A discord.js bot on Resound: logs in, joins a voice channel through the gateway (op 4), plays a clip, leaves.
// TOKEN, GUILD_ID, CHANNEL_ID come from `npm run resound -- seed`; run from the repository (discord.js and
// @discordjs/voice are dev dependencies) with the development certificate trusted for the wss:// voice endpoint:
//   NODE_EXTRA_CA_CERTS=data/tls/dev-cert.pem TOKEN=… GUILD_ID=… CHANNEL_ID=… node examples/discordjs-voice-bot.mjs
import { createAudioPlayer, createAudioResource, entersState, joinVoiceChannel } from '@discordjs/voice';
import { AudioPlayerStatus, StreamType, VoiceConnectionStatus } from '@discordjs/voice';
import fs from 'node:fs';
import process from 'node:process';
import { Client, Events, GatewayIntentBits } from 'discord.js';

const client = new Client({
  intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates],
  // URL 1, REST (discord.js appends /v10). URL 2, the gateway, is what GET /api/v10/gateway/bot answers.
  rest: { api: process.env.RESOUND_API ?? 'http://127.0.0.1:8090/api' },
});

client.once(Events.ClientReady, async () => {
  const guild = client.guilds.cache.get(process.env.GUILD_ID);
  const voice = joinVoiceChannel({
    guildId: guild.id,
    channelId: process.env.CHANNEL_ID,
    adapterCreator: guild.voiceAdapterCreator,
  });
  await entersState(voice, VoiceConnectionStatus.Ready, 15_000);
  process.stdout.write(
    `${client.user.username} is in voice channel "${guild.channels.cache.get(process.env.CHANNEL_ID).name}"\n`,
  );
  const player = createAudioPlayer();
  voice.subscribe(player);
  // 48 kHz stereo s16le PCM after the 44-byte WAV header; @discordjs/voice encodes it to Opus (no ffmpeg needed).
  const pcm = fs.createReadStream('fixtures/voice/chirp.wav', { start: 44 });
  player.play(createAudioResource(pcm, { inputType: StreamType.Raw }));
  await entersState(player, AudioPlayerStatus.Playing, 5_000);
  await entersState(player, AudioPlayerStatus.Idle, 30_000);
  process.stdout.write('played fixtures/voice/chirp.wav\n');
  voice.destroy();
  await client.destroy();
});

await client.login(process.env.TOKEN);
