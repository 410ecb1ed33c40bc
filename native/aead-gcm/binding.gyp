{
  "targets": [
    {
      "target_name": "aead_gcm",
      "sources": ["aead_gcm.c"],
      "cflags": ["-O3", "-Wall", "-Wextra"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] }
    }
  ]
}
