// Recorded by tests/unit/cli/service-rehearsal-record.ts: the scripted gateway's answers to the roam
// service's rehearsal (cli/service-rehearsal.ts). Made-up keys and PSK, nothing secret. Record it again
// rather than editing it.

export interface RehearsalTranscript {
  /** IKE_SA_INIT's answer, hex. */
  saInitResponse: string;
  /** IKE_AUTH's answer (one SK payload), hex. */
  authResponse: string;
}

export const REHEARSAL_TRANSCRIPT: RehearsalTranscript = {
  saInitResponse:
    "63640b26f2fe49c0e7074345ff94ba572120222000000000000000c82200002800000024010100030300000c01000014800e01000300000802000005000000080400001f28000028001f0000f8c74e5dc93d8c140ff20cb52a6f582d0bdff8775da82c72b5417860ce0fe1032900002466ea4c8cff8d33d680a6795fca6fd42da26dff5e439bdf6d25bb1062770b6a1c2900001c000040041e6c683dff278dc43e5873ced397bd2a511266390000001c000040055a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
  authResponse:
    "63640b26f2fe49c0e7074345ff94ba572e20232000000001000000f9240000dd050d73dacb714858f781cc67bd18ddecc987a751070f46207f223f7db25e355f30b93b7afa0388697233c1de4d5e19e9935921c616c933260d1c3c2def9c97003e3901ede6b55eeb316376f92ec310677f91ebe7c582e3a30715dc3c625d9405513a4c3a45f09c58cef5a4b89f134c09966c054cf6803d65ee054b7e6ee70e47402ac583a6b034b7c81372e843485f274884c5527ea6de0051d5c3fdadbe80764f7f3f7801736af07ea4a9f654849144f6e6c9724fd7a8b3967d9f9e4d1748fe0d97f08b4bb19fd3e0bfb0ff56e29e9c667d3a74cdb4e5ec90",
};
