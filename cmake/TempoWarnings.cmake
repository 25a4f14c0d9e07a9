# Warnings apply to project targets only (third-party headers come in as SYSTEM).
add_library(tempo_warnings INTERFACE)
target_compile_options(tempo_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
