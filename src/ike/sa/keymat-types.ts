// The IKE_SA key set derived by prf+ (RFC 7296 §2.14), in the order the RFC lists them.
export interface IkeKeys {
  skD: Uint8Array;
  skAi: Uint8Array;
  skAr: Uint8Array;
  skEi: Uint8Array;
  skEr: Uint8Array;
  skPi: Uint8Array;
  skPr: Uint8Array;
}
