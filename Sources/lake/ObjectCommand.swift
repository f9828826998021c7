import ArgumentParser
import LakeModel

struct ObjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "object", abstract: "List, show, update, reprocess, download and remove objects.",
        subcommands: [ObjectList.self, ObjectShow.self, ObjectUpdateCommand.self, ObjectAnnotate.self, ObjectReprocess.self, ObjectGet.self, ObjectRemove.self,
                      AccessChmod<ObjectAccess>.self, AccessChgrp<ObjectAccess>.self])
}

/// An object id argument, checked before anything runs.
func objectID(_ text: String) throws -> LakeID {
    try parsing { () throws(InputError) in try LakeID(validating: text, kind: .object) }
}
