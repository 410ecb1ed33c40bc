// Per-worker setup. Workers inherit RESOUND_TEST_DATA_DIR and NODE_EXTRA_CA_CERTS from test/global-setup.ts.
if (!process.env.RESOUND_TEST_DATA_DIR) throw new Error('test/global-setup.ts did not run');
