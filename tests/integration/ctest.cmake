# One ctest entry per integration test file (label `integration`), so a hang
# turns one file red, files run in parallel (`ctest -j2`: every server binds
# free loopback ports, every test its own data directory) and one file can be
# rerun alone (`ctest -R integration.intake`). Needs KP_INTEGRATION_ENV.
#
# Timeouts: a default for the quick files and a longer one for the files that
# wait for verdicts, sweeps or kills; doubled in sanitizer builds (ASan+UBSan
# runs the product 2-4x slower).
set(KP_INTEGRATION_TIMEOUT 600)
set(KP_INTEGRATION_SLOW_FILES test_intake test_transfer_log test_crash test_hub test_retention test_cli
    test_person_sftp test_auditor_web test_install)
set(KP_INTEGRATION_SLOW_TIMEOUT 1200)
# Files that may not share the machine with another file, each with its reason.
set(KP_INTEGRATION_SERIAL_FILES)

file(GLOB KP_INTEGRATION_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/test_*.py)
foreach(file ${KP_INTEGRATION_FILES})
  get_filename_component(stem ${file} NAME_WE)
  string(REGEX REPLACE "^test_" "" short ${stem})
  set(timeout ${KP_INTEGRATION_TIMEOUT})
  if(stem IN_LIST KP_INTEGRATION_SLOW_FILES)
    set(timeout ${KP_INTEGRATION_SLOW_TIMEOUT})
  endif()
  if(KP_SANITIZE OR KP_TSAN)
    math(EXPR timeout "${timeout} * 2")
  endif()
  add_test(NAME integration.${short}
    COMMAND /usr/bin/python3 -m pytest -q -p no:cacheprovider ${file})
  set_tests_properties(integration.${short} PROPERTIES
    LABELS integration ENVIRONMENT "${KP_INTEGRATION_ENV}" TIMEOUT ${timeout})
  if(stem IN_LIST KP_INTEGRATION_SERIAL_FILES)
    set_tests_properties(integration.${short} PROPERTIES RUN_SERIAL TRUE)
  endif()
endforeach()
