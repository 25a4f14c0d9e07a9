# tempo_add_module(<name> SOURCES ... [DEPS ...] [PRIVATE_DEPS ...])
#   One module = one folder = one static library tempo_<name>, alias tempo::<name>.
#   Includes are rooted at src/ ("tempo/<name>/x.hpp").
function(tempo_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(tempo_${name} STATIC ${ARG_SOURCES})
  add_library(tempo::${name} ALIAS tempo_${name})
  target_include_directories(tempo_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(tempo_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS} tempo_warnings)
  set_property(GLOBAL APPEND PROPERTY TEMPO_MODULES ${name})
endfunction()

# tempo_add_test(<name> SOURCES ... DEPS ... [LABELS ...])
#   A GoogleTest executable registered with ctest (label "unit" unless LABELS says otherwise).
function(tempo_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  # The module a test belongs to is its folder (tests/unit/tempo/<module>/): label
  # "module:<module>" and target module_<module>, for `make test-module M=<module>`.
  get_filename_component(module ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  list(APPEND ARG_LABELS module:${module})
  set_property(GLOBAL APPEND PROPERTY TEMPO_TESTS_OF_${module} ${name})
  set_property(GLOBAL APPEND PROPERTY TEMPO_TESTED_MODULES ${module})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main tempo_warnings)
  # Helpers shared by tests of several modules: "support/paths.hpp".
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  # Paths go in the environment, not in compile definitions (see tests/support/paths.hpp).
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300
    ENVIRONMENT "TEMPO_TEST_VECTORS=${PROJECT_SOURCE_DIR}/tests/vectors")
endfunction()

# tempo_add_fuzzer(<name> DEPS ...)
#   fuzz/<name>_fuzz.cpp defines LLVMFuzzerTestOneInput. Under TEMPO_FUZZ it links libFuzzer;
#   otherwise it links a replay main and ctest replays fuzz/corpus/<name>/ in every build.
function(tempo_add_fuzzer name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  set(target fuzz_${name})
  add_executable(${target} ${PROJECT_SOURCE_DIR}/fuzz/${name}_fuzz.cpp)
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} tempo_warnings)
  if(TEMPO_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  else()
    target_link_libraries(${target} PRIVATE tempo_fuzz_replay)
  endif()
  add_test(NAME ${target} COMMAND ${target} ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
  set_tests_properties(${target} PROPERTIES LABELS "fuzz" TIMEOUT 300)
endfunction()
