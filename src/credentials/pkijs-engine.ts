// pkijs needs a WebCrypto engine before it creates or verifies anything; node's webcrypto
// is the only one we have. Importing this module installs it once per process.
import { webcrypto } from 'node:crypto';
import * as pkijs from 'pkijs';

let installed = false;

export function ensurePkijsEngine(): void {
  if (installed) return;
  // node's webcrypto object implements the W3C Crypto interface pkijs expects; the types
  // differ only in lib declarations (no DOM lib in this project).
  const crypto = webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'];
  pkijs.setEngine('node', new pkijs.CryptoEngine({ name: 'node', crypto }));
  installed = true;
}

export { pkijs };
