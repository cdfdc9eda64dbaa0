// The backup manifest; see backup_manifest.h.
#include "cli/backup_manifest.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "common/dates.h"
#include "common/digest.h"
#include "common/handles.h"

namespace kp::cli {

namespace {

constexpr std::string_view kMagic = "knooppunt-backup/1";

std::string escape(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (c == '%' || c < 0x20 || c == 0x7f) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

bool unescape(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    std::string byte;
    if (i + 2 >= in.size() || !from_hex(in.substr(i + 1, 2), byte)) return false;
    out += byte;
    i += 2;
  }
  return true;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> out;
  for (;;) {
    auto tab = line.find('\t');
    out.push_back(line.substr(0, tab));
    if (tab == std::string_view::npos) return out;
    line.remove_prefix(tab + 1);
  }
}

bool parse_int(std::string_view s, int64_t& v, int base = 10) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  return ec == std::errc() && p == s.data() + s.size() && v >= 0;
}

// A relative path of safe components: no empty, "." or ".." part, not absolute.
bool safe_relative(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  std::size_t start = 0;
  for (;;) {
    auto slash = path.find('/', start);
    std::string_view part(path.data() + start, (slash == std::string::npos ? path.size() : slash) - start);
    if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string_view::npos) return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

Error invalid(std::size_t line_no, const std::string& why) {
  return make_error("backup-invalid", "the backup's manifest is not valid at line " + std::to_string(line_no) +
                                          ": " + why);
}

Result<std::string> hash_file(int dirfd, const std::string& name, const std::string& shown, int64_t& size) {
  Fd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  KP_ENSURE(fd.valid(), "io-failed", "cannot read " + shown + ": " + std::strerror(errno));
  Sha256 h;
  std::vector<char> buf(1 << 20);
  size = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    KP_ENSURE(n >= 0, "io-failed", "cannot read " + shown + ": " + std::strerror(errno));
    if (n == 0) break;
    h.update(buf.data(), static_cast<std::size_t>(n));
    size += n;
  }
  return to_hex(h.finish());
}

struct Walker {
  const std::map<std::string, mode_t>& modes;
  std::map<std::pair<dev_t, ino_t>, std::string> seen;
  std::vector<ManifestEntry> out;

  mode_t mode_of(const std::string& rel, const struct stat& st) const {
    auto it = modes.find(rel);
    return it != modes.end() ? it->second : (st.st_mode & 07777);
  }

  Status walk(int dirfd, const std::string& prefix, const std::string& shown_root) {
    Fd own(::dup(dirfd));
    KP_ENSURE(own.valid(), "io-failed", "cannot read " + shown_root + "/" + prefix);
    DIR* d = ::fdopendir(own.get());
    KP_ENSURE(d, "io-failed", "cannot list " + shown_root + "/" + prefix);
    (void)own.release();
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (prefix.empty() && n == kManifestName) continue;
      names.push_back(std::move(n));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      const std::string rel = prefix.empty() ? name : prefix + "/" + name;
      const std::string shown = shown_root + "/" + rel;
      struct stat st {};
      KP_ENSURE(::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0, "io-failed",
                "cannot stat " + shown + ": " + std::strerror(errno));
      if (S_ISDIR(st.st_mode)) {
        out.push_back({'d', rel, mode_of(rel, st), 0, {}, {}});
        Fd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        KP_ENSURE(sub.valid(), "io-failed", "cannot open " + shown);
        KP_GUARD(walk(sub.get(), rel, shown_root));
      } else if (S_ISREG(st.st_mode)) {
        auto key = std::make_pair(st.st_dev, st.st_ino);
        if (st.st_nlink > 1) {
          auto it = seen.find(key);
          if (it != seen.end()) {
            out.push_back({'l', rel, 0, 0, {}, it->second});
            continue;
          }
          seen.emplace(key, rel);
        }
        ManifestEntry e{'f', rel, mode_of(rel, st), 0, {}, {}};
        KP_TRY(e.sha256, hash_file(dirfd, name, shown, e.size));
        out.push_back(std::move(e));
      } else {
        return make_error("backup-unsupported-file", shown + " is not a regular file or folder");
      }
    }
    return ok_status();
  }
};

}  // namespace

std::string format_manifest(const Manifest& m) {
  std::string text = std::string(kMagic) + "\n";
  text += "created\t" + std::to_string(m.created_ms) + "\t" + format_utc(m.created_ms, "%Y-%m-%dT%H:%M:%SZ") + "\n";
  text += "schema\t" + std::to_string(m.schema) + "\n";
  for (const auto& e : m.entries) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(e.mode & 07777));
    if (e.type == 'd') text += std::string("d\t") + mode + "\t" + escape(e.path) + "\n";
    if (e.type == 'f')
      text += std::string("f\t") + mode + "\t" + std::to_string(e.size) + "\t" + e.sha256 + "\t" + escape(e.path) + "\n";
    if (e.type == 'l') text += "l\t" + escape(e.path) + "\t" + escape(e.link_to) + "\n";
  }
  text += "end\t" + std::to_string(m.entries.size()) + "\t" + to_hex(sha256(text)) + "\n";
  return text;
}

Result<Manifest> parse_manifest(std::string_view text) {
  Manifest m;
  std::size_t pos = 0, line_no = 0;
  bool ended = false;
  std::set<std::string> files;  // link targets must be earlier files
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) break;  // a last line without newline: cut short
    std::string_view line = text.substr(pos, nl - pos);
    const std::size_t line_start = pos;
    pos = nl + 1;
    ++line_no;
    KP_ENSURE(!ended, "backup-invalid", "the backup's manifest goes on after its end line");
    auto f = split_tabs(line);
    if (line_no == 1) {
      if (line != kMagic) return invalid(line_no, "not a knooppunt backup manifest");
      continue;
    }
    if (f[0] == "created" && f.size() == 3 && line_no == 2) {
      if (!parse_int(f[1], m.created_ms)) return invalid(line_no, "bad time");
    } else if (f[0] == "schema" && f.size() == 2 && line_no == 3) {
      if (!parse_int(f[1], m.schema)) return invalid(line_no, "bad schema version");
    } else if (f[0] == "d" && f.size() == 3) {
      ManifestEntry e{'d', {}, 0, 0, {}, {}};
      int64_t mode = 0;
      if (!parse_int(f[1], mode, 8) || mode > 07777 || !unescape(f[2], e.path) || !safe_relative(e.path))
        return invalid(line_no, "bad folder line");
      e.mode = static_cast<mode_t>(mode);
      m.entries.push_back(std::move(e));
    } else if (f[0] == "f" && f.size() == 5) {
      ManifestEntry e{'f', {}, 0, 0, std::string(f[3]), {}};
      int64_t mode = 0;
      std::string raw;
      if (!parse_int(f[1], mode, 8) || mode > 07777 || !parse_int(f[2], e.size) || e.sha256.size() != 64 ||
          !from_hex(e.sha256, raw) || !unescape(f[4], e.path) || !safe_relative(e.path))
        return invalid(line_no, "bad file line");
      e.mode = static_cast<mode_t>(mode);
      files.insert(e.path);
      m.entries.push_back(std::move(e));
    } else if (f[0] == "l" && f.size() == 3) {
      ManifestEntry e{'l', {}, 0, 0, {}, {}};
      if (!unescape(f[1], e.path) || !unescape(f[2], e.link_to) || !safe_relative(e.path) ||
          !files.count(e.link_to))
        return invalid(line_no, "bad link line");
      m.entries.push_back(std::move(e));
    } else if (f[0] == "end" && f.size() == 3) {
      int64_t count = 0;
      if (!parse_int(f[1], count)) return invalid(line_no, "bad end line");
      KP_ENSURE(static_cast<std::size_t>(count) == m.entries.size(), "backup-incomplete",
                "the backup's manifest lists " + std::to_string(m.entries.size()) + " entries, its end line " +
                    std::to_string(count));
      if (f[2] != to_hex(sha256(text.substr(0, line_start))))
        return invalid(line_no, "its checksum does not match (the manifest was changed)");
      ended = true;
    } else {
      return invalid(line_no, "unknown line");
    }
  }
  KP_ENSURE(ended, "backup-incomplete", "the backup's manifest has no end line (the backup did not finish)");
  return m;
}

Result<std::vector<ManifestEntry>> describe_tree(const std::string& dir, const std::map<std::string, mode_t>& modes) {
  Fd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  KP_ENSURE(root.valid(), "io-failed", "cannot open " + dir + ": " + std::strerror(errno));
  Walker w{modes, {}, {}};
  KP_GUARD(w.walk(root.get(), "", dir));
  return std::move(w.out);
}

Status verify_tree(const std::string& dir, const Manifest& m) {
  std::map<std::string, mode_t> modes;
  std::map<std::string, const ManifestEntry*> listed;
  for (const auto& e : m.entries) {
    modes[e.path] = e.mode;
    listed[e.path] = &e;
  }
  KP_TRY(auto found, describe_tree(dir, modes));
  std::set<std::string> present;
  for (const auto& e : found) {
    present.insert(e.path);
    auto it = listed.find(e.path);
    KP_ENSURE(it != listed.end(), "backup-unexpected-file",
              dir + "/" + e.path + " is not in the backup's manifest (the backup was changed)");
    const ManifestEntry& want = *it->second;
    // A hard link that became a copy of the same bytes is still the same content.
    if (want.type == 'l' && e.type == 'f') {
      const ManifestEntry* target = listed[want.link_to];
      if (target && e.size == target->size && e.sha256 == target->sha256) continue;
    }
    KP_ENSURE(e == want, "backup-file-damaged",
              dir + "/" + e.path + " differs from the backup's manifest (" +
                  (e.type != want.type ? std::string("kind") : e.size != want.size ? "size" : "content") + ")");
  }
  for (const auto& e : m.entries)
    KP_ENSURE(present.count(e.path), "backup-file-missing", dir + "/" + e.path + " is missing from the backup");
  return ok_status();
}

}  // namespace kp::cli
