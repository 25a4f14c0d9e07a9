#include "tempo/agent/demo_agent.hpp"

#include "tempo/base/check.hpp"

#include <openssl/rand.h>

namespace tempo::agent {

std::string RandomHex32() {
  unsigned char bytes[16];
  TEMPO_CHECK(RAND_bytes(bytes, sizeof bytes) == 1, "the system has no random source");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

AgentConfig MakeDemoAgent(std::string engine) {
  AgentConfig a;
  a.agent_id = AgentId("demo");
  a.agent_name = "Bright Smile Dental";
  a.description = "Receptionist of a dental clinic: answers questions and books callbacks";
  a.prompt =
      "You are the friendly receptionist of Bright Smile Dental. Answer questions about the "
      "clinic briefly, offer to book a callback for appointments, and transfer the caller to "
      "a person when they ask for one.";
  a.first_message = "Hello, thank you for calling Bright Smile Dental. How can I help you today?";
  a.guardrails = {"Never give medical advice; suggest an appointment instead.",
                  "Never share other patients' information."};
  a.knowledge_base = {
      {"What are your opening hours?",
       "We are open from nine to five, Monday to Friday, and from nine to one on Saturday."},
      {"Where are you located?",
       "We are at 12 Harbour Street, next to the central library. Parking is free."},
      {"How much does a cleaning cost?", "A cleaning costs eighty dollars."},
      {"How much does teeth whitening cost?", "Teeth whitening costs two hundred dollars."},
      {"How much is a checkup?", "A checkup with x-rays costs one hundred and twenty dollars."},
      {"Do you take insurance?", "Yes, we accept most dental insurance plans."},
      {"Do you see children?", "Yes, we see children from the age of three."},
      {"What should I do in an emergency?",
       "For a dental emergency during opening hours, come straight in. Outside opening hours, "
       "call the emergency line on our website."},
  };
  a.voice_id = "kal16";
  // A number to try transfers with ("can I talk to a person?"); replace it with a real one.
  a.transfer_phone_number = "+14155550100";
  a.engine = std::move(engine);
  a.twilio_auth_token = TwilioAuthToken(RandomHex32());
  a.max_session_duration = 900;
  return a;
}

}  // namespace tempo::agent
