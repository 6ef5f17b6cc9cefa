#pragma once
// The record codec storage compacts with (storage::record_codec over net/compaction.h): storage
// decides which records stay, net reads keys and rewrites batches.
#include <memory>

#include "storage/storage.h"

namespace eb::bridge {

std::shared_ptr<const storage::record_codec> make_compaction_codec();

}  // namespace eb::bridge
