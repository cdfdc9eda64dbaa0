# ThreadSanitizer run of the unit tests of the threaded parts (KP_TSAN=ON):
# the intake pipeline's reader/helper threads (workers/package) and the
# notifier's sender thread. `tsan_tests` links only the units those tests
# need (`kptsan`), so the TSan build compiles a quarter of the tree; ctest
# entry `tsan` (label `tsan`). HTTP (Poco's server threads) has no unit test
# to run here: its threads live in Poco, which is not instrumented.
set(KP_TSAN_UNITS
  audit/merkle audit/record
  common/address common/datadir common/dates common/digest common/fsio common/log common/settings common/utf8
  common/confine
  keys/age keys/bech32 keys/minisign keys/signed_note
  policy/identifiers policy/mandate policy/manifest policy/package_rules policy/retention
  workers/contact_mail workers/notifier workers/package workers/reseal workers/smtp)
file(GLOB KP_TSAN_STORE CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/store/*.cpp)
list(TRANSFORM KP_TSAN_UNITS PREPEND ${CMAKE_SOURCE_DIR}/)
list(TRANSFORM KP_TSAN_UNITS APPEND .cpp)
add_library(kptsan STATIC ${KP_TSAN_UNITS} ${KP_TSAN_STORE})
target_include_directories(kptsan PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(kptsan PUBLIC
  PkgConfig::SODIUM PkgConfig::LIBARCHIVE PkgConfig::SQLITE PkgConfig::LIBCRYPTO
  Poco::Foundation Poco::Util Poco::Net Poco::NetSSL Poco::JSON Threads::Threads)
add_executable(tsan_tests EXCLUDE_FROM_ALL tests/main.cpp
  tests/workers/package_test.cpp tests/workers/notifier_test.cpp)
target_link_libraries(tsan_tests PRIVATE kptsan doctest::doctest)
target_compile_definitions(tsan_tests PRIVATE KP_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_test(NAME tsan COMMAND tsan_tests)
set_tests_properties(tsan PROPERTIES LABELS tsan TIMEOUT 600 ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1")
