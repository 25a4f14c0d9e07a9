# Build speed, never build meaning: a compiler cache and a faster linker when the machine has
# them (tools/install-deps.sh --test installs both). Without them the build is exactly as before.
#   -DTEMPO_CCACHE=OFF     don't use ccache even when installed
#   -DTEMPO_LINKER=bfd     the system linker (default: mold, else lld, else the system's)

option(TEMPO_CCACHE "Compile through ccache when it is installed" ON)
set(TEMPO_LINKER "auto" CACHE STRING "Linker: auto (mold, then lld), mold, lld or bfd")

if(TEMPO_CCACHE)
  find_program(TEMPO_CCACHE_PROGRAM ccache)
  if(TEMPO_CCACHE_PROGRAM)
    # A fresh clone in another folder must hit what an earlier clone compiled (CI clones main
    # afresh):
    # - base_dir rewrites absolute paths under the checkout to relative ones before hashing;
    # - hash_dir off, so the working directory (the build folder) is not hashed either; that is
    #   safe because -ffile-prefix-map below leaves no absolute path of the checkout in an object;
    # - sloppiness: a clone's files all have new modification times.
    # The cache lives outside the checkout (ccache's default, ~/.cache/ccache, or $CCACHE_DIR),
    # bounded in size; $CCACHE_MAXSIZE overrides the bound.
    set(tempo_ccache_size "$ENV{CCACHE_MAXSIZE}")
    if(NOT tempo_ccache_size)
      set(tempo_ccache_size 8G)
    endif()
    set(tempo_launcher /usr/bin/env
      CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}
      CCACHE_NOHASHDIR=1
      CCACHE_SLOPPINESS=include_file_mtime,include_file_ctime,time_macros
      CCACHE_MAXSIZE=${tempo_ccache_size}
      ${TEMPO_CCACHE_PROGRAM})
    set(CMAKE_C_COMPILER_LAUNCHER ${tempo_launcher})
    set(CMAKE_CXX_COMPILER_LAUNCHER ${tempo_launcher})
    message(STATUS "ccache: ${TEMPO_CCACHE_PROGRAM} (base dir ${PROJECT_SOURCE_DIR}, max ${tempo_ccache_size})")
  endif()
endif()

# Paths in objects (debug info, __FILE__) relative to the checkout: objects are the same bytes
# whichever folder they were built in, which is what lets the cache above serve another clone.
add_compile_options(-ffile-prefix-map=${PROJECT_SOURCE_DIR}/=)

include(CheckLinkerFlag)
set(tempo_linkers)
if(TEMPO_LINKER STREQUAL "auto")
  set(tempo_linkers mold lld)
elseif(NOT TEMPO_LINKER STREQUAL "bfd")
  set(tempo_linkers ${TEMPO_LINKER})
endif()
foreach(linker IN LISTS tempo_linkers)
  # -fuse-ld=<name> runs ld.<name> from PATH (gcc 12 and clang 14 both know mold and lld).
  find_program(tempo_linker_program_${linker} ld.${linker})
  if(NOT tempo_linker_program_${linker})
    continue()
  endif()
  check_linker_flag(CXX "-fuse-ld=${linker}" tempo_linker_works_${linker})
  if(tempo_linker_works_${linker})
    add_link_options(-fuse-ld=${linker})
    message(STATUS "linker: ${tempo_linker_program_${linker}}")
    break()
  endif()
endforeach()
