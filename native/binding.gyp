# Build description of the ikegate native addon (see native/index.d.ts for its surface).
# Built by native/build.mjs from `npm install`; headers come from the local Node install
# (nodedir), never from the network.
{
  "targets": [
    {
      "target_name": "ikegate",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/polled_fd.cc",
        "src/netlink_socket.cc",
        "src/tun_device.cc",
        "src/sockopt.cc",
        "src/layout.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    }
  ]
}
