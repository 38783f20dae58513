// Contract: a case spread over a real Slurm array (deploy/slurm/) and merged equals a run of the same folder on
// one machine: the same images, clues and links. The test starts Debian's munged, slurmctld and slurmd on
// localhost with a configuration of its own (temporary folder, ports of its own) and stops exactly those.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cluetrace;
using namespace cluetrace::test;

namespace {

std::string find_program(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    if (::access((fs::path(dir) / name).c_str(), X_OK) == 0) return (fs::path(dir) / name).string();
  }
  return {};
}

int run_command(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// This machine's memory in MiB, for the node's RealMemory (the job scripts ask for memory per task).
long memory_mb() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  long kb = 0;
  while (in >> key >> kb) {
    if (key == "MemTotal:") return kb / 1024;
    in.ignore(256, '\n');
  }
  return 4096;
}

// munged, slurmctld and slurmd for one test: everything under its own folder, stopped by the pids they wrote.
class LocalSlurm {
 public:
  explicit LocalSlurm(const fs::path& root) : root_(root) {}
  ~LocalSlurm() { stop(); }

  std::string start() {
    for (const char* program : {"munged", "slurmctld", "slurmd", "sbatch", "sinfo"}) {
      if (find_program(program).empty()) return fmt::format("{} is not installed (Debian: munge, slurmctld, slurmd, slurm-client)", program);
    }
    if (::geteuid() != 0) return "slurmd and munged are started as root here; not root";
    for (const char* sub : {"munge", "state", "spool", "log"}) fs::create_directories(root_ / sub);
    fs::permissions(root_ / "munge", fs::perms::owner_all, fs::perm_options::replace);
    const auto key = root_ / "munge" / "munge.key";
    if (run_command(fmt::format("dd if=/dev/urandom of={} bs=1024 count=1 2>/dev/null && chmod 400 {}", key.string(), key.string())) != 0) {
      return "cannot make a munge key";
    }
    socket_ = root_ / "munge" / "munge.socket";
    if (run_command(fmt::format("{} --force --key-file={} --socket={} --pid-file={} --log-file={} --seed-file={}", find_program("munged"),
                                key.string(), socket_.string(), (root_ / "munge" / "munged.pid").string(),
                                (root_ / "log" / "munged.log").string(), (root_ / "munge" / "munged.seed").string())) != 0) {
      return "munged did not start: " + slurp(root_ / "log" / "munged.log");
    }
    started_munge_ = true;
    char host[256] = {};
    ::gethostname(host, sizeof host);
    std::string short_host(host);
    short_host = short_host.substr(0, short_host.find('.'));
    const int port = 20000 + static_cast<int>(::getpid() % 20000);
    conf_ = root_ / "slurm.conf";
    std::ofstream(conf_) << fmt::format(
        "ClusterName=cluetracetest\nSlurmctldHost={0}(127.0.0.1)\nSlurmctldPort={1}\nSlurmdPort={2}\n"
        "AuthType=auth/munge\nAuthInfo=socket={3}\nCredType=cred/munge\nSlurmUser=root\nSlurmdUser=root\n"
        "StateSaveLocation={4}/state\nSlurmdSpoolDir={4}/spool\nSlurmctldPidFile={4}/slurmctld.pid\n"
        "SlurmdPidFile={4}/slurmd.pid\nSlurmctldLogFile={4}/log/slurmctld.log\nSlurmdLogFile={4}/log/slurmd.log\n"
        "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSwitchType=switch/none\nMpiDefault=none\n"
        "SchedulerType=sched/builtin\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core\nReturnToService=2\n"
        "JobCompType=jobcomp/none\nAccountingStorageType=accounting_storage/none\nJobAcctGatherType=jobacct_gather/none\n"
        "NodeName={0} NodeAddr=127.0.0.1 CPUs={5} RealMemory={6} State=UNKNOWN\n"
        "PartitionName=batch Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES\n",
        short_host, port, port + 1, socket_.string(), root_.string(), std::thread::hardware_concurrency(), memory_mb());
    ::setenv("SLURM_CONF", conf_.c_str(), 1);
    if (run_command(find_program("slurmctld") + " -f " + conf_.string()) != 0) return "slurmctld did not start: " + slurp(root_ / "log" / "slurmctld.log");
    started_ctld_ = true;
    if (run_command(find_program("slurmd") + " -f " + conf_.string()) != 0) return "slurmd did not start: " + slurp(root_ / "log" / "slurmd.log");
    started_d_ = true;
    // Ready when the node is idle.
    for (int i = 0; i < 60; ++i) {
      if (run_command("sinfo -h -o %t 2>/dev/null | grep -q idle") == 0) return {};
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return "the node never became idle: " + slurp(root_ / "log" / "slurmctld.log");
  }

  std::string logs() const { return slurp(root_ / "log" / "slurmctld.log") + slurp(root_ / "log" / "slurmd.log"); }

  void stop() {
    auto kill_from = [](const fs::path& pid_file) {
      std::ifstream in(pid_file);
      pid_t pid = 0;
      if (in >> pid && pid > 0) {
        ::kill(pid, SIGTERM);
        for (int i = 0; i < 50 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    };
    if (started_d_) kill_from(root_ / "slurmd.pid");
    if (started_ctld_) kill_from(root_ / "slurmctld.pid");
    if (started_munge_) kill_from(root_ / "munge" / "munged.pid");
    started_d_ = started_ctld_ = started_munge_ = false;
  }

 private:
  fs::path root_, conf_, socket_;
  bool started_munge_ = false, started_ctld_ = false, started_d_ = false;
};

// Each image's clues as comparable text, by path relative to the input folder.
std::map<std::string, std::string> clues_by_image(const fs::path& case_dir, const fs::path& input) {
  std::map<std::string, std::string> out;
  for (const auto& r : read_reports(case_dir)) {
    std::string clues = r["status"].get<std::string>();
    for (const auto& c : r["clues"]) clues += "|" + c["kind"].get<std::string>() + ":" + c["value"].get<std::string>() + ":" + c.value("box", nlohmann::json()).dump();
    out[fs::path(r["image"]["path"].get<std::string>()).lexically_relative(input).string()] = clues;
  }
  return out;
}

std::set<std::string> links_of(const fs::path& case_dir) {
  std::set<std::string> out;
  const auto links = read_json(case_dir / "links.json");
  for (const auto& r : links["recurring"]) {
    std::set<std::string> images;
    for (const auto& i : r["images"]) images.insert(fs::path(i["path"].get<std::string>()).filename().string());
    out.insert(fmt::format("clue {} {} {}", r["kind"].get<std::string>(), r["key"].get<std::string>(), fmt::join(images, ",")));
  }
  for (const auto& g : links["identical"]) {
    std::set<std::string> images;
    for (const auto& p : g["paths"]) images.insert(fs::path(p.get<std::string>()).filename().string());
    out.insert(fmt::format("identical {}", fmt::join(images, ",")));
  }
  for (const auto& g : links["scenes"]) {
    std::set<std::string> images;
    for (const auto& i : g["images"]) images.insert(fs::path(i["path"].get<std::string>()).filename().string());
    out.insert(fmt::format("scene {}", fmt::join(images, ",")));
  }
  return out;
}

TEST(Slurm, AnArrayOfShardsMergedEqualsOneRun) {
  TempDir dir;
  LocalSlurm slurm(dir / "slurm");
  if (const auto why = slurm.start(); !why.empty()) GTEST_SKIP() << "no local Slurm: " << why;

  // A folder in sub-folders; one phone number on three pictures and one picture under two names, so that links
  // cross shards.
  const fs::path input = dir / "case";
  const std::vector<std::string> texts = {"BAKERY TEL 030 2312 5678", "OPEN MONDAY TO FRIDAY", "WWW.EXAMPLE.NL",
                                          "CALL 030 2312 5678",      "HOTEL CENTRAL",         "FRESH BREAD DAILY",
                                          "TEL 030 2312 5678 ORDER", "SUMMER SALE",            "GARAGE SERVICE"};
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto sub = input / fmt::format("roll{}", i % 3);
    fs::create_directories(sub);
    write_bytes(sub / fmt::format("img{}.png", i), encode(text_image({texts[i]}), ".png"));
  }
  fs::copy_file(input / "roll0" / "img0.png", input / "roll2" / "copy_of_img0.png");

  const auto single = run_cli({"run", "--threads", "2", "--progress", "never", "--out", (dir / "single").string(), input.string()});
  ASSERT_EQ(single.exit_code, 0) << single.output;

  const auto case_dir = dir / "slurm-case";
  const std::string env = fmt::format("CLUETRACE={} SLURM_CONF={}", cli_path().string(), (dir / "slurm" / "slurm.conf").string());
  const auto array = fmt::format("{} sbatch --wait --array=0-2 --output={}/shard-%a.log {}/deploy/slurm/cluetrace-array.sbatch {} {}",
                                 env, dir.path().string(), source_dir().string(), case_dir.string(), input.string());
  ASSERT_EQ(run_command(array), 0) << array << "\n" << slurp(dir / "shard-0.log") << slurp(dir / "shard-1.log") << slurm.logs();
  const auto merge = fmt::format("{} sbatch --wait --output={}/merge.log {}/deploy/slurm/cluetrace-merge.sbatch {}", env,
                                 dir.path().string(), source_dir().string(), case_dir.string());
  ASSERT_EQ(run_command(merge), 0) << merge << "\n" << slurp(dir / "merge.log") << slurm.logs();
  slurm.stop();

  // Three real shards, each an ordinary case folder of its own part.
  std::size_t shard_reports = 0;
  for (int k = 0; k < 3; ++k) {
    const auto shard = case_dir / "shards" / fmt::format("shard-{}", k);
    const auto run = read_json(shard / "run.json");
    EXPECT_EQ(run["shard"]["index"], k);
    EXPECT_EQ(run["shard"]["count"], 3);
    shard_reports += read_reports(shard).size();
  }
  EXPECT_EQ(shard_reports, texts.size() + 1);

  const auto merged = case_dir / "case";
  EXPECT_EQ(clues_by_image(merged, input), clues_by_image(dir / "single", input));
  EXPECT_EQ(links_of(merged), links_of(dir / "single"));
  EXPECT_FALSE(links_of(merged).empty());
  // Reports in the order of the single run.
  std::vector<std::string> a, b;
  for (const auto& r : read_reports(merged)) a.push_back(r["image"]["path"]);
  for (const auto& r : read_reports(dir / "single")) b.push_back(r["image"]["path"]);
  EXPECT_EQ(a, b);
  const auto record = read_json(merged / "run.json");
  EXPECT_EQ(record["merged_from"].size(), 3u);
  for (const char* name : {"index.html", "clues.sqlite", "summary.csv", "vics.json"}) EXPECT_TRUE(fs::exists(merged / name)) << name;
}

TEST(Merge, AMissingRepeatedOrUnfinishedShardIsNamedAndNothingIsWritten) {
  TempDir dir;
  const fs::path input = dir / "case";
  fs::create_directories(input);
  for (int i = 0; i < 4; ++i) write_bytes(input / fmt::format("img{}.png", i), encode(text_image({fmt::format("SIGN {}", i)}), ".png"));
  for (int k = 0; k < 2; ++k) {
    const auto r = run_cli({"run", "--shard", fmt::format("{}/2", k), "--progress", "never", "--out", (dir / fmt::format("s{}", k)).string(), input.string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const auto missing = run_cli({"merge", "--out", (dir / "m1").string(), (dir / "s0").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("shard(s) 1/2 missing"), std::string::npos) << missing.output;
  const auto twice = run_cli({"merge", "--out", (dir / "m2").string(), (dir / "s0").string(), (dir / "s0").string()});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.output.find("shard 0/2 is given twice"), std::string::npos) << twice.output;
  auto run = read_json(dir / "s1" / "run.json");
  run["status"] = "interrupted";
  write_text(dir / "s1" / "run.json", run.dump());
  const auto unfinished = run_cli({"merge", "--out", (dir / "m3").string(), (dir / "s0").string(), (dir / "s1").string()});
  EXPECT_EQ(unfinished.exit_code, 1);
  EXPECT_NE(unfinished.output.find("its run is interrupted, not complete"), std::string::npos) << unfinished.output;
  for (const char* m : {"m1", "m2", "m3"}) EXPECT_FALSE(fs::exists(dir / m / "reports.jsonl")) << m;
  // Merged twice: the same case.
  run["status"] = "complete";
  write_text(dir / "s1" / "run.json", run.dump());
  ASSERT_EQ(run_cli({"merge", "--out", (dir / "m").string(), (dir / "s1").string(), (dir / "s0").string()}).exit_code, 0);
  const auto first = read_bytes(dir / "m" / "reports.jsonl");
  ASSERT_EQ(run_cli({"merge", "--out", (dir / "m").string(), (dir / "s0").string(), (dir / "s1").string()}).exit_code, 0);
  EXPECT_EQ(read_bytes(dir / "m" / "reports.jsonl"), first);
  EXPECT_EQ(read_reports(dir / "m").size(), 4u);
  EXPECT_EQ(read_json(dir / "m" / "run.json")["object_stores"], true);
}

// Shards run with config/quick.yaml keep no object stores: the merged case says so, and query by example on it
// is refused with the reason, not searched as an empty index.
TEST(Merge, ShardsWithoutObjectStoresMakeACaseThatSaysSo) {
  TempDir dir;
  const fs::path input = dir / "case";
  fs::create_directories(input);
  for (int i = 0; i < 2; ++i) write_bytes(input / fmt::format("img{}.png", i), encode(text_image({fmt::format("SIGN {}", i)}), ".png"));
  const auto quick = (source_dir() / "config" / "quick.yaml").string();
  for (int k = 0; k < 2; ++k) {
    const auto r = run_cli({"run", "--config", quick, "--shard", fmt::format("{}/2", k), "--progress", "never", "--out",
                            (dir / fmt::format("s{}", k)).string(), input.string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  ASSERT_EQ(run_cli({"merge", "--out", (dir / "m").string(), (dir / "s0").string(), (dir / "s1").string()}).exit_code, 0);
  EXPECT_EQ(read_json(dir / "m" / "run.json")["object_stores"], false);
  const auto query = run_cli({"find-object", (dir / "m").string(), "--image", (input / "img0.png").string(), "--box", "0,0,64,64"});
  EXPECT_NE(query.exit_code, 0) << query.output;
  EXPECT_NE(query.output.find("keeps no object stores"), std::string::npos) << query.output;
}

}  // namespace
