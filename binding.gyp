{
  "targets": [
    {
      "target_name": "pagewise",
      "sources": [
        "native/addon.cc",
        "native/advice.cc",
        "native/counter.cc",
        "native/errors.cc",
        "native/kernel_bindings.cc",
        "native/kernels.cc",
        "native/probe.cc",
        "native/registry.cc",
        "native/scan.cc",
        "native/sigbus.cc",
        "native/signals.cc",
        "native/views.cc",
        "native/writable.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0"
          }
        }]
      ]
    }
  ]
}
