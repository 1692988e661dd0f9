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

// Every command at every depth, parents before their subcommands: {"classic", "perceptron"}.
struct Command {
  std::vector<std::string> path;
  const CLI::App* app;
  std::string name(const std::string& sep = " ") const {
    std::string n;
    for (const auto& p : path) n += (n.empty() ? "" : sep) + p;
    return n;
  }
};
void collect(const CLI::App* app, std::vector<std::string> path, std::vector<Command>& out) {
  for (const auto* c : commands_of(app)) {
    std::vector<std::string> p = path;
    p.push_back(c->get_name());
    out.push_back({p, c});
    collect(c, p, out);
  }
}
std::vector<Command> all_commands(const CLI::App* root) {
  std::vector<Command> out;
  collect(root, {}, out);
  return out;
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

std::string command_page(const Command& c) {
  const CLI::App* cmd = c.app;
  std::ostringstream os;
  const std::string name = prog_name() + " " + c.name();
  os << name << ": " << cmd->get_description() << "\n\nusage: " << name;
  const std::vector<const CLI::App*> subs = commands_of(cmd);
  if (!subs.empty()) os << " SUBCOMMAND";
  for (const auto& d : options_of(cmd))
    if (d.positional) {
      std::string n = d.names[0];
      for (char& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      os << " " << (d.required ? n : "[" + n + "]");
    }
  os << " [OPTIONS]\n";
  if (!subs.empty()) {
    os << "\nSubcommands (" << prog_name() << " help " << c.name() << " SUBCOMMAND):\n";
    for (const auto* s : subs) os << "  " << s->get_name() << "\n" << wrap(s->get_description(), 6);
  }
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
  for (const Command& cmd : all_commands(root)) {
    const CLI::App* c = cmd.app;
    os << ".SS \"" << prog << " " << cmd.name() << "\"\n" << roff(c->get_description()) << "\n";
    if (const auto subs = commands_of(c); !subs.empty()) {
      std::vector<std::string> n;
      for (const auto* sc : subs) n.push_back(sc->get_name());
      os << ".PP\nSubcommands: " << roff(joined(n, ", ")) << "\n";
    }
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
  const std::vector<Command> cmds = all_commands(root);
  std::vector<std::string> names, top, keys;
  for (const auto* c : commands_of(root)) names.push_back(c->get_name());
  for (const auto& d : options_of(root))
    if (!d.positional)
      for (const auto& n : d.names) top.push_back(n);
  // "/train" for a command, "classic/perceptron" for a subcommand: the path so far, a slash and
  // the word, so a word is a command only where it is one
  for (const Command& c : cmds) keys.push_back((c.path.size() == 1 ? "/" : "") + c.name("/"));
  std::ostringstream os;
  os << "# bash completion for " << prog << ", generated by `" << prog
     << " completion bash` from the command definitions.\n"
     << "# Install: " << prog << " completion bash > ~/.local/share/bash-completion/completions/"
     << prog << "\n"
     << "_" << prog << "() {\n"
     << "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
     << "  local cmd=\"\" i words_only=\"\"\n"
     << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
     << "    case \"$cmd/${COMP_WORDS[i]}\" in\n"
     << "      " << joined(keys, "|") << ") cmd=\"${cmd:+$cmd/}${COMP_WORDS[i]}\" ;;\n"
     << "    esac\n"
     << "  done\n"
     << "  local opts=\"\"\n"
     << "  case \"$cmd\" in\n"
     << "    \"\") opts=\"" << bash_words(top) << " " << bash_words(names)
     << "\"; words_only=1 ;;\n";
  for (const Command& cmd : cmds) {
    const CLI::App* c = cmd.app;
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
    // a command with subcommands, and help, complete words only: their names, the topics
    bool words_only = false;
    for (const auto* sc : commands_of(c)) words.push_back(sc->get_name()), words_only = true;
    if (cmd.name() == "help") {
      for (const auto& n : names) words.push_back(n);
      for (const auto& [n, _] : extra_topics()) words.push_back(n);
      words_only = true;
    }
    os << "    " << cmd.name("/") << ")\n"
       << "      opts=\"" << bash_words(words) << "\"" << (words_only ? "; words_only=1" : "")
       << "\n"
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
     << "  if [[ -n \"$words_only\" || \"$cur\" == -* ]]; then\n"
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
  auto topic = std::make_shared<std::vector<std::string>>();
  auto man = std::make_shared<bool>(false);
  cmd->add_option("topic", *topic,
                  "a command (train, eval, ...), a subcommand (classic perceptron) or a topic "
                  "(schedules)");
  cmd->add_flag("--man", *man, "print the whole manual as a man page (roff) instead");
  cmd->callback([cmd, topic, man] {
    const CLI::App* root = root_of(cmd);
    const std::string words = joined(*topic, " ");
    if (*man) {
      SN_CHECK(topic->empty(), ValueError, "help --man: the man page covers every command; leave '",
               words, "' out");
      std::cout << man_page(root);
      return;
    }
    if (topic->empty()) {
      std::cout << overview(root);
      return;
    }
    if (words == "schedules") {
      std::cout << schedules_page(root);
      return;
    }
    for (const Command& c : all_commands(root))
      if (c.path == *topic) {
        std::cout << command_page(c);
        return;
      }
    std::vector<std::string> all;
    for (const auto* c : commands_of(root)) all.push_back(c->get_name());
    for (const auto& [n, _] : extra_topics()) all.push_back(n);
    SN_THROW(ValueError, "help: no topic '", words, "' (topics: ", joined(all, ", "), ")");
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
