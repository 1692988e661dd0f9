// `sinapsis help [TOPIC]`, `sinapsis help --man` and `sinapsis completion bash`: help pages, a
// man page and a bash completion script made at run time from the CLI11 tree the commands
// registered, so they list exactly the options the parser accepts and cannot drift from it.
// The only hand-written page is `help schedules`, which explains what each schedule does.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <map>
#include <sstream>

#include "cli.h"

namespace sn::cli {

namespace {

// The command's name as users type it (CLI11 names the root app after argv[0], a path).
std::string prog_name() { return "sinapsis"; }

// What the help pages need to know about one option.
struct OptionDoc {
  std::vector<std::string> names;  // "--batch-size", "--batch", "-h"; a positional: its name
  std::string value;               // "INT:positive"; empty for a flag
  std::string description, group, default_value;
  std::vector<std::string> choices;  // from an IsMember check: {a,b,c}
  bool positional = false, required = false, numeric = false;
};

OptionDoc doc_of(const CLI::Option* o) {
  OptionDoc d;
  d.positional = o->get_positional() && !o->nonpositional();
  if (d.positional) {
    d.names.push_back(o->get_name(true, false));
  } else {
    for (const auto& s : o->get_snames()) d.names.push_back("-" + s);
    for (const auto& l : o->get_lnames()) d.names.push_back("--" + l);
  }
  if (o->get_type_size_max() > 0) d.value = o->get_type_name();
  d.description = o->get_description();
  d.group = o->get_group();
  d.default_value = o->get_default_str();
  d.required = o->get_required();
  if (const auto b = d.value.find('{'), e = d.value.find('}');
      b != std::string::npos && e != std::string::npos && e > b) {
    std::stringstream ss(d.value.substr(b + 1, e - b - 1));
    for (std::string c; std::getline(ss, c, ',');) d.choices.push_back(c);
  }
  for (const char* t : {"INT", "UINT", "FLOAT", "NUMBER"})
    d.numeric = d.numeric || d.value.rfind(t, 0) == 0;
  return d;
}

std::vector<OptionDoc> options_of(const CLI::App* app) {
  std::vector<OptionDoc> out;
  for (const CLI::Option* o : app->get_options({})) out.push_back(doc_of(o));
  return out;
}

std::vector<const CLI::App*> commands_of(const CLI::App* root) {
  return root->get_subcommands([](const CLI::App*) { return true; });
}

std::string joined(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// Options grouped as CLI11 groups them, in the order the groups first appear.
std::vector<std::pair<std::string, std::vector<OptionDoc>>> grouped(const CLI::App* app) {
  std::vector<std::pair<std::string, std::vector<OptionDoc>>> groups;
  for (auto& d : options_of(app)) {
    if (d.group.empty()) continue;  // hidden
    const std::string g = d.positional ? "Arguments" : d.group;
    auto it = std::find_if(groups.begin(), groups.end(), [&](auto& p) { return p.first == g; });
    if (it == groups.end()) {
      groups.push_back({g, {}});
      it = groups.end() - 1;
    }
    it->second.push_back(std::move(d));
  }
  // arguments first
  std::stable_partition(groups.begin(), groups.end(),
                        [](auto& p) { return p.first == "Arguments"; });
  return groups;
}

std::string option_line(const OptionDoc& d) {
  std::string s = joined(d.names, ", ");
  if (!d.value.empty()) s += " " + d.value;
  if (d.required) s += " (required)";
  if (!d.default_value.empty()) s += " (default " + d.default_value + ")";
  return s;
}

// Words of a description wrapped to `width` columns after `indent` spaces.
std::string wrap(const std::string& text, size_t indent, size_t width = 79) {
  std::istringstream words(text);
  std::string out, line, w;
  while (words >> w) {
    if (!line.empty() && indent + line.size() + 1 + w.size() > width) {
      out += std::string(indent, ' ') + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + w;
  }
  if (!line.empty()) out += std::string(indent, ' ') + line + "\n";
  return out;
}

std::string command_page(const CLI::App* root, const CLI::App* cmd) {
  std::ostringstream os;
  const std::string name = prog_name() + " " + cmd->get_name();
  os << name << ": " << cmd->get_description() << "\n\nusage: " << name;
  for (const auto& d : options_of(cmd))
    if (d.positional) {
      std::string n = d.names[0];
      for (char& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      os << " " << (d.required ? n : "[" + n + "]");
    }
  os << " [OPTIONS]\n";
  for (const auto& [group, opts] : grouped(cmd)) {
    os << "\n" << group << ":\n";
    for (const auto& d : opts) os << "  " << option_line(d) << "\n" << wrap(d.description, 6);
  }
  return os.str();
}

// The topics that are not commands: name, one line, page.
std::string schedules_page(const CLI::App* root);
const std::vector<std::pair<std::string, std::string>>& extra_topics() {
  static const std::vector<std::pair<std::string, std::string>> t = {
      {"schedules", "the learning-rate schedules of `train --schedule` and their options"}};
  return t;
}

std::string overview(const CLI::App* root) {
  std::ostringstream os;
  os << root->get_description() << "\n\nusage: " << prog_name() << " COMMAND [OPTIONS]   ("
     << prog_name() << " COMMAND --help, " << prog_name() << " help TOPIC)\n\ncommands:\n";
  size_t w = 0;
  for (const auto* c : commands_of(root)) w = std::max(w, c->get_name().size());
  for (const auto& [n, _] : extra_topics()) w = std::max(w, n.size());
  auto row = [&](const std::string& n, const std::string& d) {
    os << "  " << n << std::string(w + 2 - n.size(), ' ') << d << "\n";
  };
  for (const auto* c : commands_of(root)) row(c->get_name(), c->get_description());
  os << "\nother topics:\n";
  for (const auto& [n, d] : extra_topics()) row(n, d);
  os << "\n"
     << wrap(prog_name() + " --version names the version, compiler and CPU kernels; " +
                 prog_name() + " help --man prints a man page; " + prog_name() +
                 " completion bash a bash completion script.",
             0);
  return os.str();
}

const CLI::App* find_command(const CLI::App* root, const std::string& name) {
  for (const auto* c : commands_of(root))
    if (c->get_name() == name) return c;
  return nullptr;
}

std::string schedules_page(const CLI::App* root) {
  std::ostringstream os;
  os << "learning-rate schedules: sinapsis train --schedule NAME\n\n"
     << "Each is one of the library's schedulers (sn::optim); its options and state are kept in\n"
     << "the run folder, so `resume` continues the same schedule.\n\n"
     << "  cosine       lr falls along a half cosine to 0 over --epochs (the default)\n"
     << "  none         constant lr\n"
     << "  step         lr x --gamma every --step-size epochs\n"
     << "  multistep    lr x --gamma after each epoch in --milestones (e.g. 5,8)\n"
     << "  exponential  lr x --gamma every epoch\n"
     << "  onecycle     per batch: up from lr/25 to --lr over --pct-start of the steps, then\n"
     << "               down to lr/25e4; momentum (or Adam's beta1) moves the other way\n"
     << "  plateau      lr x --gamma when the validation loss (the training loss with\n"
     << "               --val-split 0) has not improved for --plateau-patience epochs\n"
     << "  --warmup-epochs N  adds a linear warm-up from lr/10 in front of any of them but\n"
     << "               onecycle\n";
  if (const CLI::App* train = find_command(root, "train")) {
    os << "\nthe options (from `sinapsis train`):\n";
    for (const auto& d : options_of(train))
      if (d.names[0] == "--schedule" || d.group.rfind("Learning-rate", 0) == 0)
        os << "  " << option_line(d) << "\n" << wrap(d.description, 6);
  }
  return os.str();
}

// ---- man page (roff) ----
std::string roff(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

std::string man_page(const CLI::App* root) {
  std::ostringstream os;
  const std::string prog = prog_name();
  os << ".\\\" generated by `" << prog << " help --man` from the command definitions\n"
     << ".TH SINAPSIS 1 \"\" \"sinapsis " << build_info().version << "\" \"User Commands\"\n"
     << ".SH NAME\n"
     << prog << " \\- "
     << roff(root->get_description().substr(root->get_description().find(':') + 2))
     << "\n.SH SYNOPSIS\n.B " << prog << "\n.I COMMAND\n[\\fIOPTIONS\\fR]\n"
     << ".br\n.B " << prog << "\n\\-\\-version | \\-\\-help | help [\\fITOPIC\\fR]\n"
     << ".SH DESCRIPTION\n"
     << roff(
            "Train, evaluate and inspect neural networks from the shell. Each command is "
            "described below; `" +
            prog + " help COMMAND` shows the same text in the terminal.")
     << "\n.SH COMMANDS\n";
  for (const auto* c : commands_of(root)) {
    os << ".SS \"" << prog << " " << c->get_name() << "\"\n" << roff(c->get_description()) << "\n";
    for (const auto& [group, opts] : grouped(c)) {
      os << ".PP\n.I " << roff(group) << "\n";
      for (const auto& d : opts) {
        os << ".TP\n.B " << roff(joined(d.names, ", "));
        if (!d.value.empty()) os << " \\fI" << roff(d.value) << "\\fR";
        if (d.required) os << " (required)";
        if (!d.default_value.empty()) os << " (default " << roff(d.default_value) << ")";
        os << "\n" << roff(d.description) << "\n";
      }
    }
  }
  os << ".SH SEE ALSO\n" << roff("docs/cli.md and docs/model-spec.md in the source tree") << "\n";
  return os.str();
}

// ---- bash completion ----
std::string bash_words(const std::vector<std::string>& v) { return joined(v, " "); }

std::string bash_completion(const CLI::App* root) {
  const std::string prog = prog_name();
  std::vector<std::string> names, top;
  for (const auto* c : commands_of(root)) names.push_back(c->get_name());
  for (const auto& d : options_of(root))
    if (!d.positional)
      for (const auto& n : d.names) top.push_back(n);
  std::ostringstream os;
  os << "# bash completion for " << prog << ", generated by `" << prog
     << " completion bash` from the command definitions.\n"
     << "# Install: " << prog << " completion bash > ~/.local/share/bash-completion/completions/"
     << prog << "\n"
     << "_" << prog << "() {\n"
     << "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
     << "  local cmd=\"\" i\n"
     << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
     << "    case \"${COMP_WORDS[i]}\" in\n"
     << "      " << joined(names, "|") << ") cmd=\"${COMP_WORDS[i]}\"; break ;;\n"
     << "    esac\n"
     << "  done\n"
     << "  local opts=\"\"\n"
     << "  case \"$cmd\" in\n"
     << "    \"\") opts=\"" << bash_words(top) << " " << bash_words(names) << "\" ;;\n";
  for (const auto* c : commands_of(root)) {
    std::vector<std::string> words;
    std::map<std::string, std::vector<std::string>> choice_opts;  // option -> choices
    std::vector<std::string> numeric_opts, file_opts;
    for (const auto& d : options_of(c)) {
      if (d.positional) continue;
      for (const auto& n : d.names) {
        words.push_back(n);
        if (d.value.empty()) continue;
        if (!d.choices.empty())
          choice_opts[n] = d.choices;
        else if (d.numeric)
          numeric_opts.push_back(n);
        else
          file_opts.push_back(n);
      }
    }
    if (c->get_name() == "help")  // the topics
      for (const auto& n : names) words.push_back(n);
    if (c->get_name() == "help")
      for (const auto& [n, _] : extra_topics()) words.push_back(n);
    os << "    " << c->get_name() << ")\n"
       << "      opts=\"" << bash_words(words) << "\"\n"
       << "      case \"$prev\" in\n";
    for (const auto& [n, ch] : choice_opts)
      os << "        " << n << ") COMPREPLY=($(compgen -W \"" << bash_words(ch)
         << "\" -- \"$cur\")); return ;;\n";
    if (!numeric_opts.empty())
      os << "        " << joined(numeric_opts, "|") << ") COMPREPLY=(); return ;;\n";
    if (!file_opts.empty())
      os << "        " << joined(file_opts, "|")
         << ") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n";
    os << "      esac ;;\n";
  }
  os << "  esac\n"
     << "  if [[ -z \"$cmd\" || \"$cur\" == -* || \"$cmd\" == help ]]; then\n"
     << "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
     << "  else\n"
     << "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
     << "  fi\n"
     << "}\n"
     << "complete -o filenames -F _" << prog << " " << prog << "\n";
  return os.str();
}

const CLI::App* root_of(const CLI::App* app) {
  while (app->get_parent()) app = app->get_parent();
  return app;
}

void add_help(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "help", "Show a help page: a command's options, or a topic (`sinapsis help` lists them)");
  auto topic = std::make_shared<std::string>();
  auto man = std::make_shared<bool>(false);
  cmd->add_option("topic", *topic, "a command (train, eval, ...) or a topic (schedules)");
  cmd->add_flag("--man", *man, "print the whole manual as a man page (roff) instead");
  cmd->callback([cmd, topic, man] {
    const CLI::App* root = root_of(cmd);
    if (*man) {
      SN_CHECK(topic->empty(), ValueError, "help --man: the man page covers every command; leave '",
               *topic, "' out");
      std::cout << man_page(root);
      return;
    }
    if (topic->empty()) {
      std::cout << overview(root);
      return;
    }
    if (*topic == "schedules") {
      std::cout << schedules_page(root);
      return;
    }
    if (const CLI::App* c = find_command(root, *topic)) {
      std::cout << command_page(root, c);
      return;
    }
    std::vector<std::string> all;
    for (const auto* c : commands_of(root)) all.push_back(c->get_name());
    for (const auto& [n, _] : extra_topics()) all.push_back(n);
    SN_THROW(ValueError, "help: no topic '", *topic, "' (topics: ", joined(all, ", "), ")");
  });
}

void add_completion(CLI::App& app) {
  auto* cmd = app.add_subcommand("completion", "Print a shell completion script (bash)");
  auto shell = std::make_shared<std::string>("bash");
  cmd->add_option("shell", *shell, "the shell; only bash today")
      ->check(CLI::IsMember({"bash"}))
      ->capture_default_str();
  cmd->callback([cmd, shell] { std::cout << bash_completion(root_of(cmd)); });
}

Register reg_help(900, add_help);
Register reg_completion(910, add_completion);

}  // namespace
}  // namespace sn::cli
