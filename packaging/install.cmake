# `cmake --install` and the Debian package (CPack DEB): the binary, a man
# page per command (packaging/manpages, help2man, written at install time so
# a build pays nothing for them), the systemd units and the settings link
# under /etc/knooppunt. With CMAKE_INSTALL_PREFIX=/usr (the package's) the
# paths are Debian's: /usr/bin, /usr/share/man/man1, /lib/systemd/system,
# /etc/knooppunt, data in /var/lib/knooppunt.
# The default prefix is /usr, the package's, so that `cmake --install` and
# the package put every file in the same place and the units name the binary
# where it is (-DCMAKE_INSTALL_PREFIX=/usr/local for a local install).
# A build tree configured before this file existed holds CMake's default
# /usr/local: moved once; a prefix chosen later is kept.
if(NOT KP_INSTALL_PREFIX_CHOSEN)
  if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT OR CMAKE_INSTALL_PREFIX STREQUAL "/usr/local")
    set(CMAKE_INSTALL_PREFIX "/usr" CACHE PATH "Install prefix" FORCE)
  endif()
  set(KP_INSTALL_PREFIX_CHOSEN ON CACHE INTERNAL "CMAKE_INSTALL_PREFIX was defaulted once")
endif()
include(GNUInstallDirs)

set(KP_DATA_DIR "${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/knooppunt" CACHE PATH
    "The data directory the systemd units and the package use")
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(kp_default_unit_dir "/lib/systemd/system")
else()
  set(kp_default_unit_dir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
set(KP_SYSTEMD_UNIT_DIR "${kp_default_unit_dir}" CACHE PATH "Where the systemd units are installed")
set(KP_BIN "${CMAKE_INSTALL_FULL_BINDIR}/knooppunt")

install(TARGETS knooppunt RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Man pages: generated from the installed program's own --help texts.
set(kp_man_dir "${CMAKE_BINARY_DIR}/man")
# Written again only when the program or the script changed since (an
# install and a package in a row make them once).
set(kp_man_script ${CMAKE_SOURCE_DIR}/packaging/manpages)
install(CODE "
  set(stamp ${kp_man_dir}/.stamp)
  if(NOT EXISTS \${stamp} OR $<TARGET_FILE:knooppunt> IS_NEWER_THAN \${stamp} OR ${kp_man_script} IS_NEWER_THAN \${stamp})
    execute_process(COMMAND ${kp_man_script} $<TARGET_FILE:knooppunt> ${kp_man_dir} COMMAND_ERROR_IS_FATAL ANY)
    file(TOUCH \${stamp})
  endif()")
install(DIRECTORY ${kp_man_dir}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 PATTERN .stamp EXCLUDE)

# systemd units: one sandbox (sandbox.conf.in) shared by both.
set(KP_UNIT_EXTRA_CAPS "")
configure_file(packaging/systemd/sandbox.conf.in ${CMAKE_BINARY_DIR}/systemd/sandbox-worker.conf @ONLY)
set(KP_UNIT_EXTRA_CAPS "CAP_NET_BIND_SERVICE")
configure_file(packaging/systemd/sandbox.conf.in ${CMAKE_BINARY_DIR}/systemd/sandbox-serve.conf @ONLY)
file(READ ${CMAKE_BINARY_DIR}/systemd/sandbox-serve.conf KP_UNIT_SANDBOX)
configure_file(packaging/systemd/knooppunt.service.in ${CMAKE_BINARY_DIR}/systemd/knooppunt.service @ONLY)
file(READ ${CMAKE_BINARY_DIR}/systemd/sandbox-worker.conf KP_UNIT_SANDBOX)
configure_file(packaging/systemd/knooppunt-worker.service.in ${CMAKE_BINARY_DIR}/systemd/knooppunt-worker.service @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/systemd/knooppunt.service ${CMAKE_BINARY_DIR}/systemd/knooppunt-worker.service
        DESTINATION ${KP_SYSTEMD_UNIT_DIR})

# The settings live in the data directory (DATA/knooppunt.conf, written by
# `init` with every setting, its default and a comment; backups carry it);
# /etc/knooppunt/knooppunt.conf points there, where an administrator looks.
set(kp_etc "${CMAKE_INSTALL_FULL_SYSCONFDIR}/knooppunt")
install(CODE "file(MAKE_DIRECTORY \"\$ENV{DESTDIR}${kp_etc}\")
              file(CREATE_LINK ${KP_DATA_DIR}/knooppunt.conf \"\$ENV{DESTDIR}${kp_etc}/knooppunt.conf\" SYMBOLIC)")

include(packaging/deb.cmake)
