/**
 * Runs in Chromium (bundled by the SDP test): a fresh peer connection takes each offer in turn, sends a tone on
 * mid 0 as the demo page sends the microphone, and returns its answers.
 */
async function answerOffers(offers: string[]): Promise<string[]> {
  const pc = new RTCPeerConnection();
  // about:blank has no navigator.mediaDevices: a WebAudio oscillator stands in for the microphone.
  const ctx = new AudioContext();
  const osc = ctx.createOscillator();
  const dest = ctx.createMediaStreamDestination();
  osc.connect(dest);
  osc.start();
  const answers: string[] = [];
  for (const sdp of offers) {
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const t = pc.getTransceivers().find((x) => x.mid === '0');
    if (!t) throw new Error('no transceiver for mid 0');
    if (!t.sender.track) await t.sender.replaceTrack(dest.stream.getAudioTracks()[0]);
    t.direction = 'sendonly';
    await pc.setLocalDescription(await pc.createAnswer());
    answers.push(pc.localDescription?.sdp ?? '');
  }
  pc.close();
  await ctx.close();
  return answers;
}

Object.assign(globalThis, { answerOffers });
