# The Debian package (`cpack -G DEB` in the build directory): the files of
# `cmake --install`, the runtime libraries found by dpkg-shlibdeps, and the
# maintainer scripts of packaging/debian (system users, data directory,
# `init`, the unit enabled and started).
file(STRINGS ${CMAKE_SOURCE_DIR}/cli/version.h kp_version_line REGEX "kVersion = \"")
string(REGEX REPLACE ".*kVersion = \"([^\"]+)\".*" "\\1" KP_VERSION "${kp_version_line}")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME knooppunt)
set(CPACK_PACKAGE_VERSION ${KP_VERSION})
set(CPACK_PACKAGE_CONTACT "knooppunt maintainers <knooppunt@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "secure SFTP file-exchange gateway for a healthcare fraud information hub")
set(CPACK_PACKAGE_DESCRIPTION "Municipal systems drop sealed signal packages into their drop box over SFTP,
under a mandate; hub staff pick up verified packages; auditors check the
transfer log (a signed Merkle tree). Runs as the systemd unit knooppunt.service.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
# The units and /etc/knooppunt have absolute destinations.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# useradd (postinst) is in passwd.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
foreach(script postinst prerm postrm)
  configure_file(${CMAKE_SOURCE_DIR}/packaging/debian/${script}.in ${CMAKE_BINARY_DIR}/debian/${script} @ONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  list(APPEND CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian/${script})
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR}/packages)
include(CPack)
