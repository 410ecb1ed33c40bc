import { Counter, Gauge, type Registry } from 'prom-client';

/** What the engine reports on /metrics; bridge packet counts are read from the live bridges at scrape time. */
export class WebRtcMetrics {
  readonly workerDeaths: Counter;
  readonly channelsMoved: Counter;
  readonly browsers: Gauge;

  constructor(registry: Registry, bridgeCounts: () => { toMediasoup: number; toNative: number }) {
    const registers = [registry];
    this.workerDeaths = new Counter({
      name: 'resound_webrtc_worker_deaths_total',
      help: 'mediasoup workers that died (each was restarted in its slot)',
      registers,
    });
    this.channelsMoved = new Counter({
      name: 'resound_webrtc_channels_moved_total',
      help: 'Channels re-created on another mediasoup worker after theirs died',
      registers,
    });
    this.browsers = new Gauge({ name: 'resound_webrtc_browsers', help: 'Browser peers connected', registers });
    new Gauge({
      name: 'resound_webrtc_bridge_packets',
      help: 'Packets relayed by the live channel bridges (native → mediasoup, mediasoup → native)',
      labelNames: ['direction'],
      registers,
      collect() {
        const c = bridgeCounts();
        this.set({ direction: 'to_mediasoup' }, c.toMediasoup);
        this.set({ direction: 'to_native' }, c.toNative);
      },
    });
  }
}
