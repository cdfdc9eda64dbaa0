# libFuzzer targets (label `fuzz`), built with KP_FUZZ=ON by clang
# (scripts/fuzz configures build-fuzz with clang-14). Every file
# tests/fuzz/<name>_fuzz.cpp is one target `<name>_fuzz`; its seed corpus is
# tests/fuzz/corpus/<name>/. The targets link `kpfuzz`, the units that read
# hostile bytes and what they need (a static library of its own, so the
# fuzz build compiles a fifth of the tree, not all of it). Each target is a
# ctest entry `fuzz.<name>` that runs it for KP_FUZZ_SECONDS on a scratch
# copy of its corpus (scripts/fuzz-one), so `ctest -L fuzz` is the short CI
# run; `cmake --build build-fuzz --target fuzz` builds them all.
set(KP_FUZZ_SECONDS 10 CACHE STRING "Seconds each fuzz target runs under ctest")
set(KP_FUZZ_UNITS
  common/digest common/fd_passing common/fsio common/settings common/utf8
  keys/age keys/bech32 keys/minisign keys/signed_note
  policy/identifiers policy/manifest policy/package_rules
  common/confine gateway/monitor_wire gateway/sftp_codec gateway/vpath
  workers/package workers/parser_wire workers/reseal
  audit/merkle)
list(TRANSFORM KP_FUZZ_UNITS PREPEND ${CMAKE_SOURCE_DIR}/)
list(TRANSFORM KP_FUZZ_UNITS APPEND .cpp)
add_library(kpfuzz STATIC ${KP_FUZZ_UNITS})
target_include_directories(kpfuzz PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(kpfuzz PUBLIC
  PkgConfig::SODIUM PkgConfig::LIBARCHIVE PkgConfig::LIBCRYPTO Poco::Foundation Poco::Util Poco::Net Poco::JSON Threads::Threads)

add_custom_target(fuzz)
file(GLOB KP_FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/*_fuzz.cpp)
foreach(src ${KP_FUZZ_SOURCES})
  get_filename_component(target ${src} NAME_WE)
  string(REGEX REPLACE "_fuzz$" "" name ${target})
  add_executable(${target} EXCLUDE_FROM_ALL ${src})
  target_link_libraries(${target} PRIVATE kpfuzz)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  add_dependencies(fuzz ${target})
  math(EXPR fuzz_timeout "${KP_FUZZ_SECONDS} * 2 + 60")
  add_test(NAME fuzz.${name}
    COMMAND ${CMAKE_SOURCE_DIR}/scripts/fuzz-one $<TARGET_FILE:${target}> ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name}
            ${CMAKE_BINARY_DIR}/fuzz-work/${name} ${KP_FUZZ_SECONDS})
  set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT ${fuzz_timeout})
endforeach()
