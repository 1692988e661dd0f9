// `sinapsis`: the command-line tool. Each subcommand lives in a cmd_*.cpp file and registers
// itself; this file only builds the app and turns every error into one clear line + exit 2.
#include <algorithm>
#include <iostream>

#include "cli.h"
#include "sinapsis/distributed/distributed.h"

int main(int argc, char** argv) {
  CLI::App app{"sinapsis: train and inspect neural networks from the shell"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  app.set_version_flag("--version", [] {
    std::string v = sn::build_info_string();
    if (!v.empty() && v.back() == '\n') v.pop_back();  // CLI11 ends the line itself
    return v;
  });
  auto& reg = sn::cli::registry();
  std::stable_sort(reg.begin(), reg.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [order, add] : reg) add(app);
  sn::cli::track_output_lines();
  using sn::cli::message_line;  // every error starts on its own line
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const sn::cli::ExitStatus& e) {
    return e.code;
  } catch (const CLI::ParseError& e) {
    message_line() << "sinapsis: " << e.what() << " (see sinapsis --help)\n";
    return 2;
  } catch (const std::exception& e) {
    // under mpirun the other ranks may be waiting for this one in a collective: its error
    // names the rank and ends the whole job (mpirun then reports the rank that aborted)
    if (sn::distributed::is_distributed()) {
      message_line() << "sinapsis: rank " << sn::distributed::rank() << ": " << e.what() << "\n";
      sn::distributed::abort(2);
    }
    message_line() << "sinapsis: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
