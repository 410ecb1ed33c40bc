// Builds the AES-256-GCM addon from the root package's `install` script. A failed build never fails the install:
// sfu/crypto falls back to node:crypto (slower) and offers XChaCha20-Poly1305 first instead.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAddon } from '../build-addon.mjs';
/* global console */

if (!buildAddon(path.dirname(fileURLToPath(import.meta.url)))) {
  console.warn(
    'aead-gcm addon not built; AES-256-GCM falls back to node:crypto and XChaCha20-Poly1305 is offered first',
  );
}
